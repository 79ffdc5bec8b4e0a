// A workspace path field with a "Browse" dialog over the Files API (the Files feature is not imported:
// features stay independent). Folders open; files of the wanted kinds are chosen with a click or Enter.
import { Breadcrumbs, Button, Group, Modal, Stack, Text, TextInput, UnstyledButton } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { IconFile, IconFolder, IconFolderOpen } from "@tabler/icons-react";
import { useState } from "react";
import { ErrorNotice } from "@/components/ErrorNotice";
import { utilitiesApi } from "./api";
import { nameOf, parentOf } from "./paths";
import type { Entry } from "./types";

export interface FilePickerProps {
  /** The text field's id (to move the keyboard to it). */
  id?: string;
  label: string;
  description?: string;
  value: string;
  onChange: (path: string) => void;
  /** Where the dialog opens when the field is empty, e.g. "models/loras". */
  startIn: string;
  /** File name endings that can be chosen (".safetensors"); folders can be chosen with `folders`. */
  accept?: string[];
  /** Also let a folder be chosen (a peft adapter is a folder). */
  folders?: boolean;
  required?: boolean;
  error?: string | null;
}

const matches = (entry: Entry, accept: string[] | undefined) =>
  !accept || accept.some((end) => entry.name.toLowerCase().endsWith(end));

export function FilePicker(props: FilePickerProps) {
  const { id, label, description, value, onChange, startIn, accept, folders, required, error } = props;
  const [open, setOpen] = useState(false);
  return (
    <Group align="flex-end" gap="xs" wrap="nowrap">
      <TextInput
        id={id}
        style={{ flex: 1 }}
        label={label}
        description={description}
        value={value}
        required={required}
        error={error}
        placeholder={`${startIn}/…`}
        onChange={(event) => onChange(event.currentTarget.value)}
        spellCheck={false}
        autoComplete="off"
      />
      <Button variant="default" onClick={() => setOpen(true)} aria-label={`Browse for ${label.toLowerCase()}`}>
        Browse…
      </Button>
      {open ? (
        <BrowseDialog
          title={`Choose: ${label}`}
          start={value ? parentOf(value) : startIn}
          accept={accept}
          folders={!!folders}
          onClose={() => setOpen(false)}
          onPick={(path) => {
            onChange(path);
            setOpen(false);
          }}
        />
      ) : null}
    </Group>
  );
}

interface BrowseDialogProps {
  title: string;
  start: string;
  accept?: string[];
  folders: boolean;
  onClose: () => void;
  onPick: (path: string) => void;
}

function BrowseDialog({ title, start, accept, folders, onClose, onPick }: BrowseDialogProps) {
  const [folder, setFolder] = useState(start);
  const listing = useQuery({ queryKey: ["files", folder], queryFn: () => utilitiesApi.list(folder), retry: false });
  const entries = (listing.data?.entries ?? []).filter((e) => e.is_dir || matches(e, accept));
  const crumbs = folder ? folder.split("/") : [];
  return (
    <Modal opened onClose={onClose} title={title} size="lg">
      <Stack gap="sm">
        <Breadcrumbs aria-label="Folder">
          <UnstyledButton onClick={() => setFolder("")}>Workspace</UnstyledButton>
          {crumbs.map((part, i) => (
            <UnstyledButton key={i} onClick={() => setFolder(crumbs.slice(0, i + 1).join("/"))}>
              {part}
            </UnstyledButton>
          ))}
        </Breadcrumbs>
        {listing.error ? (
          <>
            <ErrorNotice error={listing.error} />
            {folder ? (
              <Button variant="default" onClick={() => setFolder(parentOf(folder))}>
                Go up to {parentOf(folder) || "the workspace"}
              </Button>
            ) : null}
          </>
        ) : null}
        {listing.isLoading ? <Text size="sm">Loading {folder || "the workspace"}…</Text> : null}
        {listing.data && entries.length === 0 ? (
          <Text size="sm" c="dimmed">
            Nothing here that fits{accept ? ` (${accept.join(", ")} files)` : ""}. Upload files on the Files page.
          </Text>
        ) : null}
        <Stack gap={2} role="list" aria-label={`In ${folder || "the workspace"}`}>
          {folder ? (
            <UnstyledButton role="listitem" onClick={() => setFolder(parentOf(folder))} p={4}>
              <Group gap="xs">
                <IconFolderOpen size={18} aria-hidden="true" />
                <Text size="sm">.. (up)</Text>
              </Group>
            </UnstyledButton>
          ) : null}
          {entries.map((entry) => (
            <Group key={entry.path} role="listitem" gap="xs" justify="space-between" wrap="nowrap">
              <UnstyledButton
                p={4}
                style={{ flex: 1 }}
                onClick={() => (entry.is_dir ? setFolder(entry.path) : onPick(entry.path))}
                aria-label={entry.is_dir ? `Open folder ${entry.name}` : `Choose ${entry.name}`}
              >
                <Group gap="xs" wrap="nowrap">
                  {entry.is_dir ? <IconFolder size={18} aria-hidden="true" /> : <IconFile size={18} aria-hidden="true" />}
                  <Text size="sm">{entry.name}</Text>
                </Group>
              </UnstyledButton>
              {entry.is_dir && folders ? (
                <Button size="compact-xs" variant="default" onClick={() => onPick(entry.path)}>
                  Choose this folder
                </Button>
              ) : null}
            </Group>
          ))}
        </Stack>
        <Text size="xs" c="dimmed">
          {nameOf(folder) ? `In ${folder}.` : "The top of the workspace."} Folders open with a click.
        </Text>
      </Stack>
    </Modal>
  );
}
