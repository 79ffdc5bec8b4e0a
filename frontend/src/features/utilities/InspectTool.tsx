// Inspect: what a LoRA is for, how it was trained, which tags its captions used, and its ranks and strengths
// per block. Answers at once (no job): reading a LoRA's header and factors takes well under a second.
import { Accordion, Badge, Button, Group, Loader, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { IconSearch } from "@tabler/icons-react";
import { useEffect, useState } from "react";
import { ErrorNotice } from "@/components/ErrorNotice";
import { useInspect } from "./api";
import { BlockChart } from "./BlockChart";
import { FilePicker } from "./FilePicker";
import { formatBytes } from "./paths";
import type { InspectReport } from "./types";

export const INSPECT_FIELD_ID = "utilities-inspect-lora";

export interface InspectToolProps {
  /** The LoRA chosen on the page (from ?lora=); inspecting one makes it the page's choice. */
  lora: string;
  onLoraChange: (path: string) => void;
}

export function InspectTool({ lora, onLoraChange }: InspectToolProps) {
  const [typed, setTyped] = useState(lora);
  const [shown, setShown] = useState<string | null>(lora || null);
  useEffect(() => {
    setTyped(lora);
    setShown(lora || null);
  }, [lora]);
  const report = useInspect(shown);
  return (
    <Stack gap="md">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const path = typed.trim();
          if (!path) return;
          setShown(path);
          onLoraChange(path);
          if (path === shown) void report.refetch();
        }}
      >
        <Group align="flex-end" gap="sm">
          <div style={{ flex: 1, minWidth: 260 }}>
            <FilePicker
              id={INSPECT_FIELD_ID}
              label="LoRA file"
              description="A .safetensors LoRA in the workspace (kohya, diffusers, peft or ComfyUI layout)."
              value={typed}
              onChange={setTyped}
              startIn="models/loras"
              accept={[".safetensors"]}
              folders
              required
            />
          </div>
          <Button type="submit" leftSection={<IconSearch size={16} aria-hidden="true" />} disabled={!typed.trim()}>
            Inspect
          </Button>
        </Group>
      </form>
      {report.isFetching && !report.data ? (
        <Group gap="xs" role="status">
          <Loader size="xs" />
          <Text size="sm">Reading {shown}…</Text>
        </Group>
      ) : null}
      {report.error ? <ErrorNotice title="This LoRA cannot be read" error={report.error} /> : null}
      {report.data && !report.error ? <InspectResult report={report.data} /> : null}
    </Stack>
  );
}

const entries = (record: Record<string, number>) =>
  Object.entries(record)
    .map(([k, n]) => `${k} (${n} module${n === 1 ? "" : "s"})`)
    .join(", ");

export function InspectResult({ report }: { report: InspectReport }) {
  const summary: [string, string][] = [
    ["Base model", report.base_label],
    ["Network", report.network ?? "not recognised"],
    ["Layout", report.layout],
    ["File size", formatBytes(report.file_size)],
    ["Modules", `${report.modules.length} (${Object.entries(report.parts).map(([p, n]) => `${p}: ${n}`).join(", ")})`],
    ["Ranks", entries(report.ranks) || "none"],
    ["Alphas", entries(report.alphas) || "none"],
    ["Text encoder trained", report.text_encoder_trained ? "yes" : "no"],
  ];
  const training = Object.entries(report.training);
  const metadata = Object.entries(report.metadata).filter(([key]) => key !== "ss_tag_frequency");
  const strength = report.blocks.some((b) => b.strength !== null);
  return (
    <Stack gap="lg" aria-label={`About ${report.path}`}>
      <Group gap="xs">
        <Text fw={600}>Trigger words:</Text>
        {report.trigger_words.length ? (
          report.trigger_words.map((w) => (
            <Badge key={w} variant="light" tt="none">
              {w}
            </Badge>
          ))
        ) : (
          <Text size="sm">none recorded</Text>
        )}
      </Group>
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
        <KeyValues title="What it is" rows={summary} />
        <KeyValues
          title="How it was trained"
          rows={training}
          empty="The file records no training settings (it was not made by sd-scripts or lorakit, or they were removed)."
        />
      </SimpleGrid>
      <Stack gap={4}>
        <Title order={3} size="h4">
          Tags used in training
        </Title>
        {report.top_tags.length ? (
          <Table striped withTableBorder aria-label="Tags used in training" maw={480}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Tag</Table.Th>
                <Table.Th ta="right">Captions with it</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {report.top_tags.map(({ tag, count }) => (
                <Table.Tr key={tag}>
                  <Table.Td>{tag}</Table.Td>
                  <Table.Td ta="right">{count}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        ) : (
          <Text size="sm" c="dimmed">
            The file records no tag counts (sd-scripts writes them as ss_tag_frequency).
          </Text>
        )}
      </Stack>
      {report.blocks.length ? (
        <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="lg">
          <BlockChart
            title="Rank per block"
            help="How many directions each block may change (the highest rank of its modules)."
            blocks={report.blocks}
            value={(b) => b.max_rank}
            format={(v) => String(v)}
          />
          {strength ? (
            <BlockChart
              title="Strength per block"
              help="How much the LoRA changes each block: the size (Frobenius norm) of its weight changes together."
              blocks={report.blocks}
              value={(b) => b.strength}
              format={(v) => v.toFixed(3)}
            />
          ) : null}
        </SimpleGrid>
      ) : null}
      <Accordion variant="separated" multiple>
        <Accordion.Item value="hashes">
          <Accordion.Control>Hashes</Accordion.Control>
          <Accordion.Panel>
            <KeyValues rows={Object.entries(report.hashes).map(([k, v]) => [k, v ?? "—"])} />
          </Accordion.Panel>
        </Accordion.Item>
        <Accordion.Item value="metadata">
          <Accordion.Control>All metadata ({metadata.length} entries)</Accordion.Control>
          <Accordion.Panel>
            <KeyValues rows={metadata} code />
          </Accordion.Panel>
        </Accordion.Item>
      </Accordion>
      {report.unknown_keys.length ? (
        <Text size="sm">
          {report.unknown_keys.length} keys were not understood and are left as they are: {report.unknown_keys.slice(0, 5).join(", ")}
          {report.unknown_keys.length > 5 ? " …" : ""}
        </Text>
      ) : null}
    </Stack>
  );
}

function KeyValues({ title, rows, empty, code }: { title?: string; rows: [string, string][]; empty?: string; code?: boolean }) {
  return (
    <Stack gap={4}>
      {title ? (
        <Title order={3} size="h4">
          {title}
        </Title>
      ) : null}
      {rows.length === 0 && empty ? (
        <Text size="sm" c="dimmed">
          {empty}
        </Text>
      ) : (
        <Table withTableBorder aria-label={title} layout="fixed">
          <Table.Tbody>
            {rows.map(([key, value]) => (
              <Table.Tr key={key}>
                <Table.Th w="38%" scope="row" style={{ fontWeight: 600 }}>
                  {key}
                </Table.Th>
                <Table.Td style={{ overflowWrap: "anywhere" }}>{code ? <code>{value.slice(0, 2000)}</code> : value}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
