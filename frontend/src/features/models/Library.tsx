// The model library by kind, with what detection says about each file.
import { Badge, Group, Loader, Stack, Table, Text, Title } from "@mantine/core";
import { IconAlertTriangle } from "@tabler/icons-react";
import { ErrorNotice } from "@/components/ErrorNotice";
import { type LibraryEntry, type ModelInfo, useLibrary } from "./api";
import { FAMILY_LABELS, KINDS, familyLabel, formatBytes } from "./format";


function nameOf(entry: LibraryEntry): string {
  return entry.path.split("/").pop() ?? entry.path;
}

/** "SDXL" for a checkpoint; for a LoRA its base model, and how that was recognised. */
function familyCell(info: ModelInfo): string {
  if (!info.family) return info.kind === "tagger" ? "—" : "Not recognised";
  const label = familyLabel(info.family, info.kind === "lora" ? null : info.variant);
  return info.kind === "lora" || info.kind === "embedding" ? `For ${label}` : label;
}

function whatCell(info: ModelInfo): string {
  const parts = [info.label || info.kind];
  if (info.rank) parts.push(`rank ${info.rank}${info.alpha !== null && info.alpha !== undefined ? `, alpha ${info.alpha}` : ""}`);
  if (info.prediction && info.kind !== "lora") parts.push(`${info.prediction} prediction`);
  return parts.join(", ");
}

function Notes({ entry }: { entry: LibraryEntry }) {
  const info = entry.info;
  const notes: string[] = [];
  if (entry.problem) notes.push(entry.problem);
  if (info && !info.safe) notes.push("A pickle file: it could run code when loaded, so lorakit does not load it.");
  if (info?.notes.length) notes.push(...info.notes);
  if (!notes.length) return null;
  return (
    <Group gap={4} wrap="nowrap" align="flex-start">
      <IconAlertTriangle size={14} aria-hidden="true" style={{ flexShrink: 0, marginTop: 3 }} />
      <Text size="xs">{notes.join(" ")}</Text>
    </Group>
  );
}

function KindTable({ kind, entries }: { kind: (typeof KINDS)[number]; entries: LibraryEntry[] }) {
  const titleId = `library-${kind.folder}`;
  return (
    <section aria-labelledby={titleId}>
      <Group gap="xs" mb={4} align="baseline">
        <Title order={3} size="h5" id={titleId}>
          {kind.title}
        </Title>
        <Badge variant="light" color="gray" aria-label={`${entries.length} ${entries.length === 1 ? "model" : "models"}`}>
          {entries.length}
        </Badge>
        <Text size="xs" c="dimmed">
          {kind.what} · models/{kind.folder}/
        </Text>
      </Group>
      {entries.length === 0 ? (
        <Text size="sm" c="dimmed">
          {kind.empty} Download one from a link above, or put files in models/{kind.folder}/ on the Files page.
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table striped highlightOnHover aria-labelledby={titleId}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Name</Table.Th>
                <Table.Th scope="col">What it is</Table.Th>
                <Table.Th scope="col">{kind.folder === "loras" ? "Base model" : "Family"}</Table.Th>
                <Table.Th scope="col">Precision</Table.Th>
                <Table.Th scope="col">Size</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {entries.map((entry) => (
                <Table.Tr key={entry.path}>
                  <Table.Td>
                    <Text size="sm" ff="monospace" style={{ overflowWrap: "break-word" }}>
                      {nameOf(entry)}
                    </Text>
                    <Notes entry={entry} />
                  </Table.Td>
                  <Table.Td>{entry.info ? whatCell(entry.info) : "Could not be read"}</Table.Td>
                  <Table.Td>
                    {entry.info ? familyCell(entry.info) : "—"}
                    {entry.info?.base_source && entry.info.family ? (
                      <Text size="xs" c="dimmed">
                        from {entry.info.base_source}
                      </Text>
                    ) : null}
                  </Table.Td>
                  <Table.Td>{entry.info?.precision ?? "—"}</Table.Td>
                  <Table.Td style={{ whiteSpace: "nowrap" }}>{entry.info ? formatBytes(entry.info.file_size) : "—"}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </section>
  );
}

export function LibraryView({ entries }: { entries: LibraryEntry[] }) {
  return (
    <Stack gap="lg">
      {KINDS.map((kind) => (
        <KindTable key={kind.folder} kind={kind} entries={entries.filter((e) => e.folder === kind.folder)} />
      ))}
    </Stack>
  );
}

export function Library() {
  const library = useLibrary();
  return (
    <section aria-labelledby="library-title">
      <Stack gap="sm">
        <Title order={2} size="h4" id="library-title">
          Library
        </Title>
        <Text size="sm" c="dimmed">
          What lorakit found in your models folder, read from each file&apos;s header: the model family (
          {Object.values(FAMILY_LABELS).join(", ")}), a LoRA&apos;s base model, the precision and the size.
        </Text>
        {library.isPending ? <Loader size="sm" aria-label="Loading the library" /> : null}
        {library.isError ? <ErrorNotice error={library.error} onRetry={() => void library.refetch()} /> : null}
        {library.data ? <LibraryView entries={library.data} /> : null}
      </Stack>
    </section>
  );
}
