import { Badge, Button, CloseButton, Group, Loader, Paper, Stack, Tabs, Text } from "@mantine/core";
import { IconArchive, IconCheck, IconFolderPlus, IconFolderSymlink, IconFolderUp, IconRestore, IconTrash, IconTrashX, IconUpload } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import { useParams, useSearchParams } from "react-router-dom";
import { ErrorNotice } from "@/components/ErrorNotice";
import { PageHeader } from "@/components/PageHeader";
import { isTyping, useShortcutHelp } from "@/hooks/shortcuts";
import type { Entry, FilesApi, TrashEntry } from "./api";
import { fromDataTransfer, fromInput, sortOut, targetPath, type PickedFile, type Skipped } from "./collect";
import { EmptyTrashDialog, TextDialog } from "./dialogs";
import { FileTable } from "./FileTable";
import { FolderBreadcrumbs } from "./FolderBreadcrumbs";
import { parentOf, plural, trashKey } from "./format";
import { ImportDialog } from "./ImportDialog";
import { TrashTable } from "./TrashTable";
import { UploadPanel } from "./UploadPanel";
import type { UploadQueue } from "./uploadQueue";
import { useQueueSnapshot } from "./uploads";

// The workspace's own layout: shown, opened, never renamed, moved or trashed (the server refuses too).
const LAYOUT = new Set(["datasets", "models", "outputs", "configs", "trash", "jobs", "models/checkpoints", "models/vae", "models/loras", "models/embeddings", "models/taggers"]);

type Dialog =
  | { kind: "mkdir" }
  | { kind: "rename"; entry: Entry }
  | { kind: "move"; entries: Entry[] }
  | { kind: "import"; source?: string }
  | { kind: "empty-trash" }
  | null;

interface Notice {
  message: string;
  undo?: () => Promise<void>;
}

export interface FilesViewProps {
  api: FilesApi;
  queue: UploadQueue;
}

/** The Files page: browse, upload (files, folders, ZIPs), organise, trash and restore. */
export function FilesView({ api, queue }: FilesViewProps) {
  const path = (useParams()["*"] ?? "").replace(/\/+$/, "");
  const [search, setSearch] = useSearchParams();
  const view = search.get("view") === "trash" ? "trash" : "files";
  const client = useQueryClient();
  const snapshot = useQueueSnapshot(queue);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [trashSelected, setTrashSelected] = useState<Set<string>>(new Set());
  const [dialog, setDialog] = useState<Dialog>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [skipped, setSkipped] = useState<Skipped[]>([]);
  const [busy, setBusy] = useState(false);
  const [dragging, setDragging] = useState(false);
  const filesInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);

  const listing = useQuery({ queryKey: ["files", path], queryFn: () => api.list(path) });
  const trash = useQuery({ queryKey: ["trash"], queryFn: () => api.listTrash() });
  const entries = useMemo(() => listing.data?.entries ?? [], [listing.data]);
  const canUpload = path !== "";

  useEffect(() => setSelected(new Set()), [path]);

  // Show files as they arrive (a short pause gathers many small ones into one refresh).
  const doneCount = snapshot.items.filter((i) => i.status === "done").length;
  useEffect(() => {
    if (doneCount === 0) return;
    const timer = setTimeout(() => void client.invalidateQueries({ queryKey: ["files"] }), 300);
    return () => clearTimeout(timer);
  }, [doneCount, client]);

  const refresh = () => Promise.all([client.invalidateQueries({ queryKey: ["files"] }), client.invalidateQueries({ queryKey: ["trash"] })]);

  async function act(work: () => Promise<Notice | null>) {
    setBusy(true);
    setActionError(null);
    try {
      setNotice(await work());
    } catch (error) {
      setNotice(null);
      setActionError(error);
    } finally {
      setBusy(false);
      await refresh();
    }
  }

  function restoreAll(items: Pick<TrashEntry, "id" | "trash">[]): Promise<void> {
    return items.reduce<Promise<unknown>>((done, item) => done.then(() => api.restore(item)), Promise.resolve()).then(() => undefined);
  }

  function moveToTrash(targets: Entry[]) {
    void act(async () => {
      const trashed = await api.trash(targets.map((e) => e.path));
      setSelected(new Set());
      return {
        message: `Moved ${targets.length === 1 ? targets[0]!.name : plural(targets.length, "item")} to the trash.`,
        undo: () => restoreAll(trashed),
      };
    });
  }

  function restore(items: TrashEntry[]) {
    void act(async () => {
      await restoreAll(items);
      setTrashSelected(new Set());
      const where = items.length === 1 ? ` to ${items[0]!.original_path}` : "";
      return { message: `Restored ${items.length === 1 ? items[0]!.name : plural(items.length, "item")}${where}.` };
    });
  }

  function undo(notice: Notice) {
    if (!notice.undo) return;
    const run = notice.undo;
    void act(async () => {
      await run();
      return { message: "Undone: the items are back where they were." };
    });
  }

  function queueUploads(picked: PickedFile[]) {
    const { upload, skipped: left } = sortOut(picked);
    setSkipped(left);
    if (upload.length) queue.add(upload.map((p) => ({ file: p.file, path: targetPath(path, p.relativePath) })));
  }

  async function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    if (!canUpload) {
      setActionError(new Error("Files go into a folder: open one (such as datasets) first, then drop them there."));
      return;
    }
    queueUploads(await fromDataTransfer(event.dataTransfer));
  }

  const selectedEntries = entries.filter((e) => selected.has(e.path));

  useShortcutHelp("Files", [
    { keys: ["u"], description: "Upload files into this folder" },
    { keys: ["n"], description: "Make a new folder here" },
    { keys: ["Delete"], description: "Move the selected items to the trash (Undo brings them back)" },
  ]);
  const keys = useRef({ canUpload, dialog, view, selectedEntries, moveToTrash });
  keys.current = { canUpload, dialog, view, selectedEntries, moveToTrash };
  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      const now = keys.current;
      if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey || now.dialog || now.view !== "files") return;
      if (event.key === "u" && now.canUpload) filesInput.current?.click();
      else if (event.key === "n") setDialog({ kind: "mkdir" });
      else if (event.key === "Delete" && now.selectedEntries.length > 0) now.moveToTrash(now.selectedEntries);
      else return;
      event.preventDefault();
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  const fixed = (entry: Entry) => LAYOUT.has(entry.path);
  const trashItems = trash.data ?? [];

  return (
    <>
      <PageHeader
        title="Files"
        purpose="Browse the workspace: upload files and folders, organise them, download them, and restore what went to the trash."
        action={
          <Button leftSection={<IconUpload size={16} aria-hidden="true" />} onClick={() => filesInput.current?.click()} disabled={!canUpload}>
            Upload files
          </Button>
        }
      />
      <input
        ref={filesInput}
        type="file"
        multiple
        hidden
        aria-label="Files to upload"
        onChange={(event) => {
          queueUploads(fromInput(event.currentTarget.files ?? []));
          event.currentTarget.value = "";
        }}
      />
      <input
        ref={folderInput}
        type="file"
        multiple
        hidden
        aria-label="Folder to upload"
        {...{ webkitdirectory: "", directory: "" }}
        onChange={(event) => {
          queueUploads(fromInput(event.currentTarget.files ?? []));
          event.currentTarget.value = "";
        }}
      />
      <UploadPanel snapshot={snapshot} queue={queue} skipped={skipped} onDismissSkipped={() => setSkipped([])} />
      {notice ? (
        <Paper role="status" withBorder p="xs" px="md" mb="md" bg="var(--mantine-color-blue-light)">
          <Group justify="space-between" wrap="nowrap">
            <Group gap="xs" wrap="nowrap">
              <IconCheck size={18} aria-hidden="true" />
              <Text size="sm">{notice.message}</Text>
            </Group>
            <Group gap="xs" wrap="nowrap">
              {notice.undo ? (
                <Button size="xs" variant="default" onClick={() => undo(notice)} disabled={busy}>
                  Undo
                </Button>
              ) : null}
              <CloseButton size="sm" aria-label="Dismiss this message" onClick={() => setNotice(null)} />
            </Group>
          </Group>
        </Paper>
      ) : null}
      {actionError ? (
        <div style={{ marginBottom: "var(--mantine-spacing-md)" }}>
          <ErrorNotice error={actionError} title="That did not work" />
        </div>
      ) : null}
      <Tabs value={view} onChange={(value) => setSearch(value === "trash" ? { view: "trash" } : {})} keepMounted={false}>
        <Tabs.List mb="md">
          <Tabs.Tab value="files">Files</Tabs.Tab>
          <Tabs.Tab value="trash" rightSection={trashItems.length ? <Badge size="sm" variant="light" aria-label={`${trashItems.length} items`}>{trashItems.length}</Badge> : null}>
            Trash
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="files">
          <Stack gap="sm">
            <FolderBreadcrumbs path={path} />
            <Group gap="xs">
              <Button variant="default" leftSection={<IconFolderUp size={16} aria-hidden="true" />} onClick={() => folderInput.current?.click()} disabled={!canUpload}>
                Upload a folder
              </Button>
              <Button variant="default" leftSection={<IconFolderPlus size={16} aria-hidden="true" />} onClick={() => setDialog({ kind: "mkdir" })}>
                New folder
              </Button>
              <Button variant="default" leftSection={<IconArchive size={16} aria-hidden="true" />} onClick={() => setDialog({ kind: "import" })}>
                Import a ZIP as a dataset
              </Button>
              {selectedEntries.length > 0 ? (
                <>
                  <Text size="sm" aria-live="polite">
                    {plural(selectedEntries.length, "item")} selected:
                  </Text>
                  <Button variant="default" leftSection={<IconFolderSymlink size={16} aria-hidden="true" />} onClick={() => setDialog({ kind: "move", entries: selectedEntries })}>
                    Move selected…
                  </Button>
                  <Button color="red" variant="light" leftSection={<IconTrash size={16} aria-hidden="true" />} onClick={() => moveToTrash(selectedEntries)} disabled={busy}>
                    Move selected to the trash
                  </Button>
                  <Button variant="subtle" onClick={() => setSelected(new Set())}>
                    Clear selection
                  </Button>
                </>
              ) : null}
            </Group>
            {!canUpload ? (
              <Text size="sm" c="dimmed">
                Open a folder (such as datasets) to upload into it: files always go into a folder.
              </Text>
            ) : null}
            <Paper
              withBorder
              p="xs"
              onDragOver={(event: DragEvent) => {
                event.preventDefault();
                setDragging(true);
              }}
              onDragLeave={() => setDragging(false)}
              onDrop={onDrop}
              style={dragging ? { outline: "2px dashed var(--mantine-color-blue-filled)", outlineOffset: 2 } : undefined}
              aria-label={`Contents of ${path || "the workspace"}`}
              component="section"
            >
              <Text size="sm" c="dimmed" px="xs" pb="xs">
                {canUpload
                  ? `Drop files or folders here to upload them into ${path} (folders keep their structure; only images and captions are taken from them).`
                  : "This is the top of the workspace."}
              </Text>
              {listing.isPending ? (
                <Group p="md" gap="xs">
                  <Loader size="sm" aria-hidden="true" />
                  <Text size="sm">Loading {path || "the workspace"}…</Text>
                </Group>
              ) : listing.error ? (
                <ErrorNotice error={listing.error} title={`${path || "The workspace"} cannot be listed`} onRetry={() => listing.refetch()} />
              ) : entries.length === 0 ? (
                <Text p="md" size="sm">
                  This folder is empty.{canUpload ? " Drop files here, or use “Upload files”." : ""}
                </Text>
              ) : (
                <FileTable
                  key={path}
                  entries={entries}
                  selected={selected}
                  fixed={fixed}
                  onToggle={(p) => setSelected(toggle(selected, p))}
                  onToggleAll={() => {
                    const all = entries.filter((e) => !fixed(e));
                    setSelected(all.every((e) => selected.has(e.path)) ? new Set() : new Set(all.map((e) => e.path)));
                  }}
                  onRename={(entry) => setDialog({ kind: "rename", entry })}
                  onMove={(list) => setDialog({ kind: "move", entries: list })}
                  onTrash={moveToTrash}
                  onImport={(entry) => setDialog({ kind: "import", source: entry.path })}
                />
              )}
            </Paper>
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="trash">
          <Stack gap="sm">
            <Text size="sm">
              Trashed files are kept until the trash is emptied; restoring puts each one back where it was. This lists the
              workspace’s trash (the Files and Datasets pages) and each dataset’s own trash (where `lorakit dataset` fixes
              and duplicate removal on the command line put files).
            </Text>
            {trashSelected.size > 0 || trashItems.length > 0 ? (
              <Group gap="xs">
                {trashSelected.size > 0 ? (
                  <>
                    <Button
                      leftSection={<IconRestore size={16} aria-hidden="true" />}
                      onClick={() => restore(trashItems.filter((i) => trashSelected.has(trashKey(i))))}
                      disabled={busy}
                    >
                      Restore selected ({trashSelected.size})
                    </Button>
                    <Button variant="subtle" onClick={() => setTrashSelected(new Set())}>
                      Clear selection
                    </Button>
                  </>
                ) : null}
                {trashItems.length > 0 ? (
                  <Button
                    color="red"
                    variant="light"
                    ml="auto"
                    leftSection={<IconTrashX size={16} aria-hidden="true" />}
                    onClick={() => setDialog({ kind: "empty-trash" })}
                    disabled={busy}
                  >
                    Empty the trash…
                  </Button>
                ) : null}
              </Group>
            ) : null}
            {trash.isPending ? (
              <Loader size="sm" aria-label="Loading the trash" />
            ) : trash.error ? (
              <ErrorNotice error={trash.error} title="The trash cannot be listed" onRetry={() => trash.refetch()} />
            ) : trashItems.length === 0 ? (
              <Text size="sm">The trash is empty.</Text>
            ) : (
              <TrashTable
                items={trashItems}
                selected={trashSelected}
                busy={busy}
                onToggle={(key) => setTrashSelected(toggle(trashSelected, key))}
                onToggleAll={() =>
                  setTrashSelected(trashItems.every((i) => trashSelected.has(trashKey(i))) ? new Set() : new Set(trashItems.map(trashKey)))
                }
                onRestore={restore}
              />
            )}
          </Stack>
        </Tabs.Panel>
      </Tabs>
      {dialog?.kind === "mkdir" ? (
        <TextDialog
          title="New folder"
          label="Folder name"
          description={`It is made inside ${path || "the workspace"}.`}
          initial=""
          submitLabel="Make the folder"
          fields={["path"]}
          onClose={() => setDialog(null)}
          onSubmit={async (name) => {
            await api.mkdir(targetPath(path, name));
            setNotice({ message: `Made the folder ${name}.` });
            await refresh();
          }}
        />
      ) : null}
      {dialog?.kind === "rename" ? (
        <TextDialog
          title={`Rename ${dialog.entry.name}`}
          label="New name"
          description="Just the name, without folders. A name that is already taken there is refused."
          initial={dialog.entry.name}
          submitLabel="Rename"
          fields={["name"]}
          onClose={() => setDialog(null)}
          onSubmit={async (name) => {
            const { entry } = dialog;
            const renamed = await api.rename(entry.path, name);
            setNotice({
              message: `Renamed ${entry.name} to ${renamed.name}.`,
              undo: async () => void (await api.rename(renamed.path, entry.name)),
            });
            await refresh();
          }}
        />
      ) : null}
      {dialog?.kind === "move" ? (
        <TextDialog
          title={`Move ${dialog.entries.length === 1 ? dialog.entries[0]!.name : plural(dialog.entries.length, "item")}`}
          label="Move into folder"
          description="A folder of the workspace, such as datasets/cats. Nothing there is overwritten: a name that is taken stops the move."
          initial={path}
          submitLabel="Move"
          fields={["to"]}
          onClose={() => setDialog(null)}
          onSubmit={async (to) => {
            const { entries: moving } = dialog;
            const moved = await api.move(
              moving.map((e) => e.path),
              to,
            );
            setSelected(new Set());
            const from = parentOf(moving[0]!.path);
            setNotice({
              message: `Moved ${plural(moved.length, "item")} into ${to}.`,
              undo: async () => void (await api.move(moved.map((e) => e.path), from)),
            });
            await refresh();
          }}
        />
      ) : null}
      {dialog?.kind === "empty-trash" ? (
        <EmptyTrashDialog
          count={trashItems.length}
          onClose={() => setDialog(null)}
          onEmpty={async () => {
            const removed = await api.emptyTrash();
            setTrashSelected(new Set());
            setNotice({ message: `Emptied the trash: ${plural(removed.length, "item")} deleted for good.` });
            await refresh();
          }}
        />
      ) : null}
      {dialog?.kind === "import" ? <ImportDialog api={api} queue={queue} folder={path} source={dialog.source} onClose={() => setDialog(null)} /> : null}
    </>
  );
}

/** Typing in a field (a row's checkbox is not one: Delete right after ticking rows must work). */
function typing(target: EventTarget | null): boolean {
  const box = target instanceof HTMLInputElement && (target.type === "checkbox" || target.type === "radio");
  return isTyping(target) && !box;
}

function toggle(set: Set<string>, key: string): Set<string> {
  const next = new Set(set);
  if (next.has(key)) next.delete(key);
  else next.add(key);
  return next;
}
