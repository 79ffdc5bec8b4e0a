// Resize: a fixed rank, or a rank per layer from its singular values; the result shows how much of the
// LoRA's change each layer kept (the energy report).
import { Group, Stack, Table, Text } from "@mantine/core";
import { useEffect, useState } from "react";
import { utilitiesApi } from "./api";
import { FilePicker } from "./FilePicker";
import { OutputField, PrecisionSelect, RankFields, rankParams, type RankChoice } from "./fields";
import { WrittenFile } from "./JobPanel";
import { nameOf, percent } from "./paths";
import { ToolForm } from "./ToolForm";
import type { Precision, ResizeReport } from "./types";

export function ResizeTool({ lora }: { lora: string }) {
  const [source, setSource] = useState(lora);
  useEffect(() => setSource(lora), [lora]);
  const [choice, setChoice] = useState<RankChoice>({ method: "fixed", rank: 8, value: "" });
  const [output, setOutput] = useState("");
  const [precision, setPrecision] = useState<Precision | "">("");
  const missing = !source.trim()
    ? "Choose the LoRA to resize."
    : choice.method === "fixed" && choice.rank === ""
      ? "Give the rank to resize to."
      : choice.method !== "fixed" && choice.value === ""
        ? "Give the value for the method."
        : null;
  const stem = nameOf(source).replace(/\.safetensors$/, "") || "lora";
  return (
    <ToolForm
      action="Resize"
      missing={missing}
      start={() =>
        utilitiesApi.resize({
          source: source.trim(),
          ...rankParams(choice),
          method: choice.method,
          ...(output.trim() ? { output: output.trim() } : {}),
          ...(precision ? { precision } : {}),
        })
      }
      result={(result) => <ResizeResult report={result as unknown as ResizeReport} />}
    >
      <FilePicker label="LoRA to resize" value={source} onChange={setSource} startIn="models/loras" accept={[".safetensors"]} required />
      <RankFields choice={choice} onChange={setChoice} />
      <Group grow align="flex-start">
        <OutputField value={output} onChange={setOutput} fallback={`models/loras/${stem}-resized.safetensors`} />
        <PrecisionSelect value={precision} onChange={setPrecision} allowInput help="The new file's number format." />
      </Group>
    </ToolForm>
  );
}

/** The energy report: the new ranks and how much of each layer's change survived. */
export function ResizeResult({ report }: { report: ResizeReport }) {
  const worst = [...report.modules].sort((a, b) => a.retained_fro - b.retained_fro).slice(0, 8);
  const notes = [...new Set(report.modules.map((m) => m.note).filter(Boolean))];
  return (
    <Stack gap="sm">
      {report.output ? <WrittenFile path={report.output} /> : null}
      <Table withTableBorder aria-label="Energy report" maw={560}>
        <Table.Tbody>
          <Table.Tr>
            <Table.Th scope="row">Average rank now</Table.Th>
            <Table.Td>{report.mean_rank.toFixed(1)}</Table.Td>
          </Table.Tr>
          <Table.Tr>
            <Table.Th scope="row">Change kept, on average</Table.Th>
            <Table.Td>{percent(report.mean_retained_fro)}</Table.Td>
          </Table.Tr>
          <Table.Tr>
            <Table.Th scope="row">Change kept, lowest layer</Table.Th>
            <Table.Td>{percent(report.min_retained_fro)}</Table.Td>
          </Table.Tr>
        </Table.Tbody>
      </Table>
      <Text size="xs" c="dimmed">
        “Change kept” is the share of each layer's weight change that the smaller rank still makes (its Frobenius
        norm). Above 90 % the LoRA usually looks the same; lower values lose detail.
      </Text>
      {worst.length ? (
        <Table striped withTableBorder aria-label="Layers that kept the least" maw={760}>
          <Table.Caption>The layers that kept the least</Table.Caption>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Layer</Table.Th>
              <Table.Th ta="right">Rank before</Table.Th>
              <Table.Th ta="right">Rank now</Table.Th>
              <Table.Th ta="right">Change kept</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {worst.map((m) => (
              <Table.Tr key={m.name}>
                <Table.Td style={{ overflowWrap: "anywhere" }}>{m.name}</Table.Td>
                <Table.Td ta="right">{m.old_rank}</Table.Td>
                <Table.Td ta="right">{m.new_rank}</Table.Td>
                <Table.Td ta="right">{percent(m.retained_fro)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
      {notes.map((note) => (
        <Text key={note} size="sm">
          Some layers: {note}
        </Text>
      ))}
    </Stack>
  );
}
