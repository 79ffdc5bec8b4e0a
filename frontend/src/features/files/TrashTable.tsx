import { Button, Checkbox, Group, Table, Text } from "@mantine/core";
import { IconFile, IconFolder, IconRestore } from "@tabler/icons-react";
import type { TrashEntry } from "./api";
import { formatTime, trashKey } from "./format";

export interface TrashTableProps {
  items: TrashEntry[];
  selected: Set<string>;
  onToggle: (key: string) => void;
  onToggleAll: () => void;
  onRestore: (items: TrashEntry[]) => void;
  busy: boolean;
}

/** What is in the trash (the workspace's, and each dataset's own): restore one, or several at once. */
export function TrashTable({ items, selected, onToggle, onToggleAll, onRestore, busy }: TrashTableProps) {
  const all = items.length > 0 && items.every((i) => selected.has(trashKey(i)));
  const some = items.some((i) => selected.has(trashKey(i)));
  return (
    <Table highlightOnHover verticalSpacing="xs" aria-label="Trashed files and folders">
      <Table.Thead>
        <Table.Tr>
          <Table.Th w={40}>
            <Checkbox aria-label="Select all trashed items" checked={all} indeterminate={some && !all} onChange={onToggleAll} />
          </Table.Th>
          <Table.Th>Name</Table.Th>
          <Table.Th>Goes back to</Table.Th>
          <Table.Th>Trashed</Table.Th>
          <Table.Th>Kept in</Table.Th>
          <Table.Th w={120}>
            <Text span size="sm" fw={700}>
              Restore
            </Text>
          </Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {items.map((item) => {
          const key = trashKey(item);
          const Icon = item.is_dir ? IconFolder : IconFile;
          return (
            <Table.Tr key={key} aria-selected={selected.has(key)}>
              <Table.Td>
                <Checkbox aria-label={`Select ${item.name} (trashed)`} checked={selected.has(key)} onChange={() => onToggle(key)} />
              </Table.Td>
              <Table.Td>
                <Group gap={6} wrap="nowrap">
                  <Icon size={18} aria-hidden="true" />
                  <Text size="sm">{item.name}</Text>
                </Group>
              </Table.Td>
              <Table.Td>
                <Text size="sm" style={{ wordBreak: "break-all" }}>
                  {item.original_path}
                </Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{formatTime(item.trashed_at)}</Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{item.trash ? `${item.trash}’s own trash (command-line fixes)` : "The workspace’s trash"}</Text>
              </Table.Td>
              <Table.Td>
                <Button
                  size="compact-sm"
                  variant="default"
                  leftSection={<IconRestore size={14} aria-hidden="true" />}
                  onClick={() => onRestore([item])}
                  disabled={busy}
                  aria-label={`Restore ${item.name} to ${item.original_path}`}
                >
                  Restore
                </Button>
              </Table.Td>
            </Table.Tr>
          );
        })}
      </Table.Tbody>
    </Table>
  );
}
