// Merge: several LoRAs, each with its weight, into one file; exact (ranks add up) or compressed by SVD.
import { Checkbox, Group, Stack, Text } from "@mantine/core";
import { useEffect, useState } from "react";
import { utilitiesApi } from "./api";
import {
  OutputField,
  PrecisionSelect,
  RankFields,
  rankParams,
  toNumber,
  WeightedList,
  weightedParams,
  type RankChoice,
  type Weighted,
} from "./fields";
import { WrittenFile } from "./JobPanel";
import { ResizeResult } from "./ResizeTool";
import { ToolForm } from "./ToolForm";
import type { Precision, ResizeReport } from "./types";

export function MergeTool({ lora }: { lora: string }) {
  const [items, setItems] = useState<Weighted[]>([
    { path: lora, weight: 1 },
    { path: "", weight: 1 },
  ]);
  useEffect(() => setItems((old) => [{ ...old[0]!, path: lora }, ...old.slice(1)]), [lora]);
  const [compress, setCompress] = useState(false);
  const [choice, setChoice] = useState<RankChoice>({ method: "fixed", rank: 16, value: "" });
  const [output, setOutput] = useState("");
  const [precision, setPrecision] = useState<Precision | "">("fp16");
  const chosen = weightedParams(items);
  const missing =
    chosen.length < 2
      ? "Choose at least two LoRAs."
      : items.some((i) => i.path.trim() && (i.weight === "" || Number.isNaN(toNumber(i.weight))))
        ? "Give every LoRA a weight."
        : compress && choice.method === "fixed" && choice.rank === ""
          ? "Give the rank to compress to."
          : null;
  return (
    <ToolForm
      action="Merge"
      missing={missing}
      start={() =>
        utilitiesApi.merge({
          sources: chosen,
          ...(compress ? rankParams(choice) : {}),
          ...(output.trim() ? { output: output.trim() } : {}),
          precision: precision || "fp16",
        })
      }
      result={(result) => (
        <Stack gap="xs">
          <WrittenFile path={String(result.output)} />
          {result.resize ? (
            <ResizeResult report={result.resize as ResizeReport} />
          ) : (
            <Text size="sm">Exact merge: every LoRA's change is kept whole (the ranks add up).</Text>
          )}
        </Stack>
      )}
    >
      <WeightedList
        items={items}
        onChange={setItems}
        min={1}
        weightHelp="A weight scales a LoRA's change: 1 as trained, 0.5 half as strong, a negative weight subtracts it."
      />
      <Checkbox
        label="Compress the result to a lower rank (SVD)"
        description="Off: exact, the ranks add up (a bigger file). On: smaller, and a little of the change is lost."
        checked={compress}
        onChange={(event) => setCompress(event.currentTarget.checked)}
      />
      {compress ? <RankFields choice={choice} onChange={setChoice} /> : null}
      <Group grow align="flex-start">
        <OutputField value={output} onChange={setOutput} fallback="models/loras/merged.safetensors" />
        <PrecisionSelect value={precision} onChange={setPrecision} help="The merged file's number format." />
      </Group>
    </ToolForm>
  );
}
