/**
 * A caption shown under its image; click (or Enter) to edit it in place. Saving sends the version that was
 * read: when the caption changed elsewhere meanwhile, the server answers 409 and nothing is overwritten. The
 * editor then shows both versions side by side and the user chooses: keep theirs, or save theirs over with
 * their own text (which they can still change). Nothing typed is lost until the user chooses.
 */
import { Button, Group, Modal, Stack, Text, Textarea } from "@mantine/core";
import { useEffect, useId, useRef, useState, type KeyboardEvent } from "react";

import { isConflict } from "./api";
import { ErrorNotice } from "@/components/ErrorNotice";
import type { Caption } from "./types";

export interface CaptionIo {
  save: (text: string, version: string) => Promise<Caption>;
  load: () => Promise<Caption>;
  /** Where an unsaved draft survives the editor leaving the page (a virtualized row scrolled away). */
  draft?: { get: () => string | undefined; set: (text: string | undefined) => void };
}

export interface CaptionEditorProps {
  /** The image's name, for labels ("Caption of a.png"). */
  imageName: string;
  caption: string | null;
  version: string;
  io: CaptionIo;
  /** Called with what is now on disk after a save (or after choosing the other version). */
  onSaved: (text: string, version: string) => void;
  /** Lines shown before the text is cut (the grid shows 3, the table 2). */
  lines?: number;
}

export function CaptionEditor({ imageName, caption, version, io, onSaved, lines = 3 }: CaptionEditorProps) {
  const kept = io.draft?.get();
  const [editing, setEditing] = useState(kept !== undefined);
  const [draft, setDraftState] = useState(kept ?? caption ?? "");
  const setDraft = (text: string) => {
    setDraftState(text);
    io.draft?.set(text);
  };
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [conflict, setConflict] = useState<Caption | null>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  const showButton = useRef<HTMLButtonElement>(null);
  const hintId = useId();

  const focusOnOpen = useRef(false); // not when a kept draft reopens as its row scrolls back in
  useEffect(() => {
    if (editing && focusOnOpen.current) area.current?.focus();
  }, [editing]);

  const start = () => {
    focusOnOpen.current = true;
    setDraft(caption ?? "");
    setError(null);
    setEditing(true);
  };
  const close = () => {
    io.draft?.set(undefined);
    setEditing(false);
    setError(null);
    requestAnimationFrame(() => showButton.current?.focus());
  };

  const save = async (text: string, against: string) => {
    setSaving(true);
    setError(null);
    try {
      const saved = await io.save(text, against);
      setConflict(null);
      onSaved(saved.text, saved.version);
      close();
    } catch (e) {
      if (isConflict(e)) {
        try {
          setConflict(await io.load());
        } catch (loadError) {
          setError(loadError);
        }
      } else {
        setError(e);
      }
    } finally {
      setSaving(false);
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      void save(draft, version);
    }
  };

  const conflictView = conflict && (
    <Modal
      opened
      onClose={() => setConflict(null)}
      title={`The caption of ${imageName} was changed elsewhere`}
      size="xl"
    >
      <Stack>
        <Text size="sm">
          Someone (another window or program) saved this caption while you were editing it. Nothing was
          overwritten. Choose which version to keep; you can still change yours before saving it.
        </Text>
        <Group grow align="flex-start">
          <Textarea
            label="Your version"
            description="Not saved yet"
            autosize
            minRows={3}
            value={draft}
            onChange={(e) => setDraft(e.currentTarget.value)}
          />
          <Textarea label="Saved version" description="What is in the file now" autosize minRows={3} value={conflict.text} readOnly />
        </Group>
        {error ? <ErrorNotice error={error} /> : null}
        <Group justify="flex-end">
          <Button
            variant="default"
            onClick={() => {
              onSaved(conflict.text, conflict.version);
              setConflict(null);
              close();
            }}
          >
            Keep the saved version
          </Button>
          <Button loading={saving} onClick={() => void save(draft, conflict.version)}>
            Save my version
          </Button>
        </Group>
      </Stack>
    </Modal>
  );

  if (!editing) {
    return (
      <button
        ref={showButton}
        type="button"
        className="lk-caption"
        style={{ WebkitLineClamp: lines }}
        onClick={start}
        aria-label={`Caption of ${imageName}: ${caption ?? "none"}. Edit`}
        title={caption ?? undefined}
      >
        {caption === null ? <span className="lk-caption-missing">No caption — click to write one</span> : caption || <span className="lk-caption-missing">Empty caption</span>}
      </button>
    );
  }
  return (
    <div className="lk-caption-edit">
      <Textarea
        ref={area}
        aria-label={`Caption of ${imageName}`}
        aria-describedby={hintId}
        value={draft}
        onChange={(e) => setDraft(e.currentTarget.value)}
        onKeyDown={onKeyDown}
        minRows={2}
        maxRows={4}
        autosize
        size="xs"
      />
      <Text id={hintId} size="xs" c="dimmed">
        Ctrl+Enter saves, Esc cancels.
      </Text>
      {error && !conflict ? <ErrorNotice error={error} /> : null}
      <Group gap={4} mt={2}>
        <Button size="compact-xs" loading={saving && !conflict} onClick={() => void save(draft, version)}>
          Save
        </Button>
        <Button size="compact-xs" variant="default" onClick={close}>
          Cancel
        </Button>
      </Group>
      {conflictView}
    </div>
  );
}
