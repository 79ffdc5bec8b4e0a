// Extract: a LoRA from the difference between a fine-tuned checkpoint and its base.
import { Checkbox, Group, NumberInput, Text } from "@mantine/core";
import { useState } from "react";
import { utilitiesApi } from "./api";
import { FilePicker } from "./FilePicker";
import { OutputField, PrecisionSelect, RankFields, rankParams, toNumber, type RankChoice } from "./fields";
import { WrittenFile } from "./JobPanel";
import { nameOf, percent } from "./paths";
import { ToolForm } from "./ToolForm";
import type { Precision } from "./types";

export function ExtractTool() {
  const [base, setBase] = useState("");
  const [tuned, setTuned] = useState("");
  const [choice, setChoice] = useState<RankChoice>({ method: "fixed", rank: 32, value: "" });
  const [convRank, setConvRank] = useState<number | "">("");
  const [textEncoder, setTextEncoder] = useState(true);
  const [clamp, setClamp] = useState<number | string>(0.99);
  const [output, setOutput] = useState("");
  const [precision, setPrecision] = useState<Precision | "">("fp16");
  const missing = !base.trim()
    ? "Choose the base checkpoint."
    : !tuned.trim()
      ? "Choose the fine-tuned checkpoint."
      : base.trim() === tuned.trim()
        ? "The two checkpoints must differ."
        : choice.method !== "fixed" && choice.value === ""
          ? "Give the value for the method."
          : null;
  const stem = nameOf(tuned).replace(/\.safetensors$/, "") || "tuned";
  return (
    <ToolForm
      action="Extract"
      missing={missing}
      start={() =>
        utilitiesApi.extract({
          base: base.trim(),
          tuned: tuned.trim(),
          ...rankParams(choice),
          method: choice.method,
          rank: choice.rank === "" ? 32 : choice.rank,
          ...(convRank !== "" ? { conv_rank: convRank } : {}),
          clamp_quantile: clamp === "" ? 0.99 : toNumber(clamp),
          text_encoder: textEncoder,
          ...(output.trim() ? { output: output.trim() } : {}),
          precision: precision || "fp16",
        })
      }
      result={(result) => {
        const layers = Object.values(result).filter(
          (v): v is { retained_fro: number } => typeof v === "object" && v !== null && "retained_fro" in v,
        );
        const kept = layers.length ? layers.reduce((s, v) => s + v.retained_fro, 0) / layers.length : null;
        return (
          <>
            <WrittenFile path={String(result.output)} />
            {kept !== null ? (
              <Text size="sm">
                {layers.length} layers; on average {percent(kept)} of each layer's change was kept.
              </Text>
            ) : null}
          </>
        );
      }}
    >
      <Group grow align="flex-start">
        <FilePicker label="Base checkpoint" description="The model it was fine-tuned from (single-file .safetensors)." value={base} onChange={setBase} startIn="models/checkpoints" accept={[".safetensors"]} required />
        <FilePicker label="Fine-tuned checkpoint" description="The model whose difference becomes the LoRA." value={tuned} onChange={setTuned} startIn="models/checkpoints" accept={[".safetensors"]} required />
      </Group>
      <RankFields choice={choice} onChange={setChoice} />
      <Group grow align="flex-start">
        <NumberInput
          label="3×3 conv rank (LoCon)"
          description="Also extract the 3×3 convolutions at this rank. Empty: linear layers only."
          min={1}
          max={1024}
          allowDecimal={false}
          value={convRank}
          onChange={(v) => setConvRank(typeof v === "number" ? v : "")}
        />
        <NumberInput
          label="Clip outliers (quantile)"
          description="0.99 clips the rarest 1 % of extreme values, which keeps the LoRA stable. 1 turns it off."
          min={0.5}
          max={1}
          step={0.005}
          decimalScale={4}
          value={clamp}
          onChange={setClamp}
        />
      </Group>
      <Checkbox
        label="Include the text encoder"
        description="Off: the LoRA changes only the UNet (use it when the text encoder was not trained)."
        checked={textEncoder}
        onChange={(event) => setTextEncoder(event.currentTarget.checked)}
      />
      <Group grow align="flex-start">
        <OutputField value={output} onChange={setOutput} fallback={`models/loras/${stem}-extracted.safetensors`} />
        <PrecisionSelect value={precision} onChange={setPrecision} help="The LoRA file's number format." />
      </Group>
    </ToolForm>
  );
}
