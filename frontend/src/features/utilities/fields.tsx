// Form pieces the tools share: the rank method with its value, precision, an output path, weighted LoRA lists.
import { ActionIcon, Button, Group, NumberInput, Select, Stack, Text, TextInput } from "@mantine/core";
import { IconPlus, IconTrash } from "@tabler/icons-react";
import { FilePicker } from "./FilePicker";
import type { Method, Precision } from "./types";

export const METHODS: { value: Method; label: string; help: string; valueLabel?: string; example?: number }[] = [
  { value: "fixed", label: "Fixed rank", help: "Every layer gets the rank you give." },
  {
    value: "sv_fro",
    label: "Keep a share of the change (sv_fro)",
    help: "Each layer keeps the fewest directions that hold this share of its change (Frobenius norm). 0.9 keeps 90 %.",
    valueLabel: "Share to keep (0-1)",
    example: 0.9,
  },
  {
    value: "sv_cumulative",
    label: "Keep a share of the singular values (sv_cumulative)",
    help: "Each layer keeps directions until their singular values add up to this share of the total.",
    valueLabel: "Share to keep (0-1)",
    example: 0.9,
  },
  {
    value: "sv_ratio",
    label: "Drop weak directions (sv_ratio)",
    help: "Each layer keeps directions at least 1/value as strong as its strongest. 10 drops those under a tenth.",
    valueLabel: "Ratio (largest / smallest kept)",
    example: 10,
  },
];

export interface RankChoice {
  method: Method;
  rank: number | "";
  /** As typed: Mantine gives text while a number is half-typed ("0."). */
  value: number | string;
}

/** A number field's value as sent (text while half-typed: "0." is 0). */
export const toNumber = (value: number | string): number => (typeof value === "number" ? value : Number(value));

/** Fixed rank, or a dynamic method with its value (the rank is then the most any layer keeps). */
export function RankFields({ choice, onChange, optional }: { choice: RankChoice; onChange: (c: RankChoice) => void; optional?: boolean }) {
  const method = METHODS.find((m) => m.value === choice.method) ?? METHODS[0]!;
  return (
    <Stack gap="xs">
      <Select
        label="How to choose the rank"
        description={method.help}
        data={METHODS.map((m) => ({ value: m.value, label: m.label }))}
        value={choice.method}
        allowDeselect={false}
        onChange={(v) => {
          const next = METHODS.find((m) => m.value === v) ?? METHODS[0]!;
          onChange({ ...choice, method: next.value, value: next.example ?? "" });
        }}
      />
      <Group grow align="flex-start">
        <NumberInput
          label={choice.method === "fixed" ? "Rank" : "Highest rank a layer may keep"}
          description={
            choice.method === "fixed"
              ? optional
                ? "Leave empty to keep the exact result (ranks add up)."
                : "Lower means a smaller file and less detail; 4-32 is usual."
              : "Optional: a cap on each layer's rank."
          }
          min={1}
          max={1024}
          allowDecimal={false}
          value={choice.rank}
          onChange={(v) => onChange({ ...choice, rank: typeof v === "number" ? v : "" })}
        />
        {choice.method !== "fixed" ? (
          <NumberInput
            label={method.valueLabel}
            description={`A good start: ${method.example}.`}
            min={0}
            step={choice.method === "sv_ratio" ? 1 : 0.05}
            decimalScale={4}
            value={choice.value}
            onChange={(v) => onChange({ ...choice, value: v })}
            required
          />
        ) : null}
      </Group>
    </Stack>
  );
}

/** The rank choice as request fields (only what was given). */
export function rankParams(choice: RankChoice, { methodWhenFixed = true } = {}) {
  const out: { method?: Method; rank?: number; value?: number } = {};
  if (choice.method !== "fixed" || methodWhenFixed) out.method = choice.method;
  if (choice.rank !== "") out.rank = choice.rank;
  if (choice.method !== "fixed" && choice.value !== "") out.value = toNumber(choice.value);
  return out;
}

export function PrecisionSelect({ value, onChange, allowInput, help }: { value: Precision | ""; onChange: (p: Precision | "") => void; allowInput?: boolean; help: string }) {
  const data = [
    ...(allowInput ? [{ value: "", label: "As the input" }] : []),
    { value: "fp16", label: "fp16 (half the size; what most tools load)" },
    { value: "bf16", label: "bf16" },
    { value: "fp32", label: "fp32 (full precision, twice the size)" },
  ];
  return (
    <Select
      label="Precision"
      description={help}
      data={data}
      value={value}
      allowDeselect={false}
      onChange={(v) => onChange((v ?? "") as Precision | "")}
    />
  );
}

export function OutputField({ value, onChange, fallback, label = "Save as" }: { value: string; onChange: (v: string) => void; fallback: string; label?: string }) {
  return (
    <TextInput
      label={label}
      description={`A workspace path. Leave empty for ${fallback}.`}
      placeholder={fallback}
      value={value}
      onChange={(event) => onChange(event.currentTarget.value)}
      spellCheck={false}
      autoComplete="off"
    />
  );
}

export interface Weighted {
  path: string;
  weight: number | string;
}

/** A list of LoRAs, each with its weight: add, remove, pick from the workspace. */
export function WeightedList({ items, onChange, min = 1, weightHelp }: { items: Weighted[]; onChange: (items: Weighted[]) => void; min?: number; weightHelp: string }) {
  const set = (i: number, item: Weighted) => onChange(items.map((old, j) => (j === i ? item : old)));
  return (
    <Stack gap="xs">
      {items.map((item, i) => (
        <Group key={i} align="flex-end" gap="xs" wrap="nowrap" role="group" aria-label={`LoRA ${i + 1}`}>
          <div style={{ flex: 1 }}>
            <FilePicker
              label={`LoRA ${i + 1}`}
              value={item.path}
              onChange={(path) => set(i, { ...item, path })}
              startIn="models/loras"
              accept={[".safetensors"]}
              required
            />
          </div>
          <NumberInput
            w={110}
            label={`Weight ${i + 1}`}
            step={0.1}
            decimalScale={3}
            value={item.weight}
            onChange={(v) => set(i, { ...item, weight: v })}
          />
          <ActionIcon
            variant="default"
            size="lg"
            aria-label={`Remove LoRA ${i + 1}`}
            disabled={items.length <= min}
            onClick={() => onChange(items.filter((_, j) => j !== i))}
          >
            <IconTrash size={16} aria-hidden="true" />
          </ActionIcon>
        </Group>
      ))}
      <Group justify="space-between">
        <Text size="xs" c="dimmed">
          {weightHelp}
        </Text>
        <Button
          variant="default"
          size="xs"
          leftSection={<IconPlus size={14} aria-hidden="true" />}
          onClick={() => onChange([...items, { path: "", weight: 1 }])}
          disabled={items.length >= 20}
        >
          Add a LoRA
        </Button>
      </Group>
    </Stack>
  );
}

/** `[[path, weight], ...]` of the rows that name a file. */
export const weightedParams = (items: Weighted[]): [string, number][] =>
  items.filter((i) => i.path.trim()).map((i) => [i.path.trim(), i.weight === "" ? 1 : toNumber(i.weight)]);
