import { ActionIcon, Anchor, Button, Checkbox, Group, Menu, Table, Text, VisuallyHidden } from "@mantine/core";
import {
  IconArchive,
  IconDots,
  IconDownload,
  IconFile,
  IconFileText,
  IconFolder,
  IconFolderSymlink,
  IconPencil,
  IconPhoto,
  IconTrash,
} from "@tabler/icons-react";
import { useState } from "react";
import { Link } from "react-router-dom";
import { downloadUrl, type Entry } from "./api";
import { folderHref, formatBytes, formatTime } from "./format";

const PAGE = 300; // rows drawn at once: a dataset folder may hold 10,000 images

const KIND_ICON = { folder: IconFolder, image: IconPhoto, text: IconFileText, archive: IconArchive } as const;
const KIND_WORDS: Record<string, string> = {
  folder: "Folder",
  image: "Image",
  text: "Text",
  archive: "ZIP archive",
  model: "Model",
  video: "Video",
  file: "File",
};

export interface FileTableProps {
  entries: Entry[];
  selected: Set<string>;
  onToggle: (path: string) => void;
  onToggleAll: () => void;
  /** Top-level folders of the workspace's layout cannot be renamed, moved or trashed. */
  fixed: (entry: Entry) => boolean;
  onRename: (entry: Entry) => void;
  onMove: (entries: Entry[]) => void;
  onTrash: (entries: Entry[]) => void;
  onImport: (entry: Entry) => void;
  /** Rows drawn at first, and added by "Show more". */
  pageSize?: number;
}

function RowMenu({ entry, fixed, ...props }: { entry: Entry; fixed: boolean } & Omit<FileTableProps, "entries" | "selected" | "onToggle" | "onToggleAll" | "fixed" | "pageSize">) {
  return (
    <Menu position="bottom-end" withinPortal>
      <Menu.Target>
        <ActionIcon variant="subtle" color="gray" aria-label={`Actions for ${entry.name}`}>
          <IconDots size={18} aria-hidden="true" />
        </ActionIcon>
      </Menu.Target>
      <Menu.Dropdown>
        {!entry.is_dir ? (
          <Menu.Item component="a" href={downloadUrl(entry.path)} download={entry.name} leftSection={<IconDownload size={16} aria-hidden="true" />}>
            Download
          </Menu.Item>
        ) : null}
        {entry.kind === "archive" ? (
          <Menu.Item onClick={() => props.onImport(entry)} leftSection={<IconArchive size={16} aria-hidden="true" />}>
            Import as a dataset…
          </Menu.Item>
        ) : null}
        <Menu.Item disabled={fixed} onClick={() => props.onRename(entry)} leftSection={<IconPencil size={16} aria-hidden="true" />}>
          Rename…
        </Menu.Item>
        <Menu.Item disabled={fixed} onClick={() => props.onMove([entry])} leftSection={<IconFolderSymlink size={16} aria-hidden="true" />}>
          Move…
        </Menu.Item>
        <Menu.Item disabled={fixed} color="red" onClick={() => props.onTrash([entry])} leftSection={<IconTrash size={16} aria-hidden="true" />}>
          Move to the trash
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}

/** The folder's contents: select rows for batch actions; each row has its own actions menu. */
export function FileTable({ entries, selected, onToggle, onToggleAll, fixed, pageSize = PAGE, ...actions }: FileTableProps) {
  const selectable = entries.filter((e) => !fixed(e));
  const all = selectable.length > 0 && selectable.every((e) => selected.has(e.path));
  const some = selectable.some((e) => selected.has(e.path));
  const [shown, setShown] = useState(pageSize);
  return (
    <>
      <Table highlightOnHover verticalSpacing="xs" aria-label="Files and folders">
        <Table.Thead>
          <Table.Tr>
            <Table.Th w={40}>
              <Checkbox
                aria-label="Select all"
                checked={all}
                indeterminate={some && !all}
                disabled={selectable.length === 0}
                onChange={onToggleAll}
              />
            </Table.Th>
            <Table.Th>Name</Table.Th>
            <Table.Th>Kind</Table.Th>
            <Table.Th ta="right">Size</Table.Th>
            <Table.Th>Changed</Table.Th>
            <Table.Th w={60}>
              <VisuallyHidden>Actions</VisuallyHidden>
            </Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {entries.slice(0, shown).map((entry) => {
            const Icon = KIND_ICON[entry.kind as keyof typeof KIND_ICON] ?? IconFile;
            const isFixed = fixed(entry);
            return (
              <Table.Tr key={entry.path} aria-selected={selected.has(entry.path)}>
                <Table.Td>
                  <Checkbox
                    aria-label={`Select ${entry.name}`}
                    checked={selected.has(entry.path)}
                    disabled={isFixed}
                    onChange={() => onToggle(entry.path)}
                  />
                </Table.Td>
                <Table.Td>
                  <Group gap={6} wrap="nowrap">
                    <Icon size={18} aria-hidden="true" />
                    {entry.is_dir ? (
                      <Anchor component={Link} to={folderHref(entry.path)}>
                        {entry.name}
                      </Anchor>
                    ) : (
                      <Text size="sm" style={{ wordBreak: "break-all" }}>
                        {entry.name}
                      </Text>
                    )}
                  </Group>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{KIND_WORDS[entry.kind] ?? "File"}</Text>
                </Table.Td>
                <Table.Td ta="right">
                  <Text size="sm">{entry.is_dir ? "" : formatBytes(entry.size)}</Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{formatTime(entry.modified)}</Text>
                </Table.Td>
                <Table.Td>
                  <RowMenu entry={entry} fixed={isFixed} {...actions} />
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      {entries.length > shown ? (
        <Group p="sm" gap="sm">
          <Text size="sm">
            Showing {shown} of {entries.length}. “Select all” selects all {selectable.length}.
          </Text>
          <Button size="xs" variant="default" onClick={() => setShown(shown + pageSize)}>
            Show {Math.min(pageSize, entries.length - shown)} more
          </Button>
        </Group>
      ) : null}
    </>
  );
}
