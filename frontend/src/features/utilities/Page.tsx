// The Utilities page (/utilities, ?lora=<workspace path> preselects a LoRA, ?tool=resize opens a tool):
// inspect, resize, merge, convert, extract, bake and publish LoRAs.
import { Button, Card, Tabs } from "@mantine/core";
import { IconSearch } from "@tabler/icons-react";
import { useSearchParams } from "react-router-dom";
import { PageHeader } from "@/components/PageHeader";
import { BakeTool } from "./BakeTool";
import { ConvertTool } from "./ConvertTool";
import { ExtractTool } from "./ExtractTool";
import { INSPECT_FIELD_ID, InspectTool } from "./InspectTool";
import { MergeTool } from "./MergeTool";
import { ResizeTool } from "./ResizeTool";
import { UploadTool } from "./UploadTool";

export const TOOLS = [
  { value: "inspect", label: "Inspect", help: "What a LoRA is for, how it was trained, and its strength per block." },
  { value: "resize", label: "Resize", help: "Make a LoRA smaller: a lower rank, fixed or chosen per layer." },
  { value: "merge", label: "Merge", help: "Several LoRAs, each with its weight, into one file." },
  { value: "convert", label: "Convert", help: "The same LoRA for another program: kohya, diffusers, peft or ComfyUI." },
  { value: "extract", label: "Extract", help: "A LoRA from the difference between a fine-tuned model and its base." },
  { value: "bake", label: "Bake", help: "LoRAs added into a checkpoint, written as a new model." },
  { value: "upload", label: "Upload", help: "Publish a LoRA on Hugging Face with a model card you can edit first." },
] as const;
type Tool = (typeof TOOLS)[number]["value"];

export default function UtilitiesPage() {
  const [search, setSearch] = useSearchParams();
  const lora = search.get("lora") ?? "";
  const asked = search.get("tool");
  const tool: Tool = TOOLS.some((t) => t.value === asked) ? (asked as Tool) : "inspect";
  const update = (changes: Record<string, string | null>) =>
    setSearch(
      (old) => {
        const next = new URLSearchParams(old);
        for (const [key, value] of Object.entries(changes)) {
          if (value) next.set(key, value);
          else next.delete(key);
        }
        return next;
      },
      { replace: true },
    );
  return (
    <>
      <PageHeader
        title="Utilities"
        purpose="Look inside LoRA files and resize, merge, convert, extract, bake or publish them."
        action={
          <Button
            leftSection={<IconSearch size={16} aria-hidden="true" />}
            onClick={() => {
              update({ tool: null });
              // After the Inspect tab is drawn: the keyboard goes to its file field.
              setTimeout(() => document.getElementById(INSPECT_FIELD_ID)?.focus(), 0);
            }}
          >
            Inspect a LoRA
          </Button>
        }
      />
      <Tabs value={tool} onChange={(value) => update({ tool: value === "inspect" ? null : value })} keepMounted={false}>
        <Tabs.List aria-label="Tools">
          {TOOLS.map((t) => (
            <Tabs.Tab key={t.value} value={t.value}>
              {t.label}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        {TOOLS.map((t) => (
          <Tabs.Panel key={t.value} value={t.value} pt="md">
            <Card withBorder padding="md">
              <p style={{ marginTop: 0 }}>{t.help}</p>
              {t.value === "inspect" ? <InspectTool lora={lora} onLoraChange={(path) => update({ lora: path })} /> : null}
              {t.value === "resize" ? <ResizeTool lora={lora} /> : null}
              {t.value === "merge" ? <MergeTool lora={lora} /> : null}
              {t.value === "convert" ? <ConvertTool lora={lora} /> : null}
              {t.value === "extract" ? <ExtractTool /> : null}
              {t.value === "bake" ? <BakeTool lora={lora} /> : null}
              {t.value === "upload" ? <UploadTool lora={lora} /> : null}
            </Card>
          </Tabs.Panel>
        ))}
      </Tabs>
    </>
  );
}
