// Convert: the same LoRA in the key layout another program expects.
import { Group, Select } from "@mantine/core";
import { useEffect, useState } from "react";
import { utilitiesApi } from "./api";
import { FilePicker } from "./FilePicker";
import { OutputField } from "./fields";
import { WrittenFile } from "./JobPanel";
import { nameOf } from "./paths";
import { ToolForm } from "./ToolForm";
import type { ConvertBody } from "./types";

type Layout = ConvertBody["layout"] & string;
export const LAYOUTS: { value: Layout; label: string; help: string }[] = [
  { value: "kohya", label: "kohya", help: "The common .safetensors LoRA: A1111, Forge, ComfyUI, sd-scripts and Civitai." },
  { value: "diffusers", label: "diffusers", help: "The key names diffusers' load_lora_weights reads directly." },
  { value: "peft", label: "peft", help: "A peft adapter folder (adapter_model.safetensors + adapter_config.json)." },
  { value: "comfyui", label: "ComfyUI", help: "ComfyUI's own key names (diffusion_model.*), for its newer loaders." },
];
const ARCHES = [
  { value: "", label: "From the file" },
  { value: "sd1", label: "SD 1.x" },
  { value: "sd2", label: "SD 2.x" },
  { value: "sdxl", label: "SDXL" },
];

export function ConvertTool({ lora }: { lora: string }) {
  const [source, setSource] = useState(lora);
  useEffect(() => setSource(lora), [lora]);
  const [layout, setLayout] = useState<Layout>("diffusers");
  const [arch, setArch] = useState("");
  const [output, setOutput] = useState("");
  const stem = nameOf(source).replace(/\.safetensors$/, "") || "lora";
  const help = LAYOUTS.find((l) => l.value === layout)?.help ?? "";
  return (
    <ToolForm
      action="Convert"
      missing={source.trim() ? null : "Choose the LoRA to convert."}
      start={() =>
        utilitiesApi.convert({
          source: source.trim(),
          layout,
          ...(arch ? { arch: arch as "sd1" | "sd2" | "sdxl" } : {}),
          ...(output.trim() ? { output: output.trim() } : {}),
        })
      }
      result={(result) => <WrittenFile path={String(result.output)} inspect={layout !== "peft"} />}
    >
      <FilePicker label="LoRA to convert" value={source} onChange={setSource} startIn="models/loras" accept={[".safetensors"]} folders required />
      <Group grow align="flex-start">
        <Select
          label="Layout to write"
          description={help}
          data={LAYOUTS.map((l) => ({ value: l.value, label: l.label }))}
          value={layout}
          allowDeselect={false}
          onChange={(v) => setLayout((v ?? "kohya") as Layout)}
        />
        <Select
          label="Model family"
          description="Only needed when the file does not say which model it is for."
          data={ARCHES}
          value={arch}
          allowDeselect={false}
          onChange={(v) => setArch(v ?? "")}
        />
      </Group>
      <OutputField
        value={output}
        onChange={setOutput}
        fallback={`models/loras/${stem}-${layout}.safetensors${layout === "peft" ? " (a folder)" : ""}`}
      />
    </ToolForm>
  );
}
