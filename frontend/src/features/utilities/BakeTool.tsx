// Bake: LoRAs added into a checkpoint's weights, written as a new single-file checkpoint.
import { Group, Text } from "@mantine/core";
import { useEffect, useState } from "react";
import { utilitiesApi } from "./api";
import { FilePicker } from "./FilePicker";
import { OutputField, PrecisionSelect, WeightedList, weightedParams, type Weighted } from "./fields";
import { WrittenFile } from "./JobPanel";
import { nameOf } from "./paths";
import { ToolForm } from "./ToolForm";
import type { Precision } from "./types";

export function BakeTool({ lora }: { lora: string }) {
  const [checkpoint, setCheckpoint] = useState("");
  const [items, setItems] = useState<Weighted[]>([{ path: lora, weight: 1 }]);
  useEffect(() => setItems((old) => [{ ...old[0]!, path: lora }, ...old.slice(1)]), [lora]);
  const [output, setOutput] = useState("");
  const [precision, setPrecision] = useState<Precision | "">("fp16");
  const chosen = weightedParams(items);
  const stem = nameOf(checkpoint).replace(/\.safetensors$/, "") || "checkpoint";
  const missing = !checkpoint.trim()
    ? "Choose the checkpoint to bake into."
    : chosen.length === 0
      ? "Choose at least one LoRA."
      : chosen.some(([, weight]) => Number.isNaN(weight))
        ? "Give every LoRA a number as its weight."
      : output.trim() && output.trim() === checkpoint.trim()
        ? "Save the baked model as a new file, not over the checkpoint."
        : null;
  return (
    <ToolForm
      action="Bake"
      missing={missing}
      start={() =>
        utilitiesApi.bake({
          checkpoint: checkpoint.trim(),
          loras: chosen,
          ...(output.trim() ? { output: output.trim() } : {}),
          precision: precision || "fp16",
        })
      }
      result={(result) => <WrittenFile path={String(result.output)} inspect={false} />}
    >
      <FilePicker
        label="Checkpoint"
        description="A single-file SD1, SD2 or SDXL .safetensors, as A1111 and ComfyUI use. It is not changed."
        value={checkpoint}
        onChange={setCheckpoint}
        startIn="models/checkpoints"
        accept={[".safetensors"]}
        required
      />
      <WeightedList
        items={items}
        onChange={setItems}
        weightHelp="Each LoRA's change × its weight is added to the checkpoint (0.8 is a common strength)."
      />
      <Group grow align="flex-start">
        <OutputField value={output} onChange={setOutput} fallback={`models/checkpoints/${stem}-baked.safetensors`} />
        <PrecisionSelect value={precision} onChange={setPrecision} help="fp16 halves the file; fp32 keeps every bit." />
      </Group>
      <Text size="xs" c="dimmed">
        The new checkpoint no longer needs the LoRAs: load it like any other model.
      </Text>
    </ToolForm>
  );
}
