/**
 * Bulk tag edits on the selected images, the images the tag filter shows, or all of them: add, remove,
 * replace, or put a trigger word first. Each edit is one entry in the dataset's edit journal, and the notice
 * after it has an Undo that puts every caption back as it was.
 */
import { Button, Checkbox, Group, Paper, Radio, Select, Stack, Text, TextInput } from "@mantine/core";
import { memo, useState } from "react";

import { datasetApi, type DatasetApi } from "./api";
import { ErrorNotice } from "@/components/ErrorNotice";
import { isFilterEmpty, parseTags, type TagFilter } from "./tags";
import type { TagEditReport } from "./types";

type Action = "add" | "remove" | "replace" | "trigger";
type Target = "selection" | "filter" | "all";

const ACTIONS: { value: Action; label: string; help: string }[] = [
  { value: "add", label: "Add tags", help: "Adds the tags to each caption that lacks them." },
  { value: "remove", label: "Remove tags", help: "Removes the tags wherever they appear." },
  { value: "replace", label: "Replace a tag", help: "Replaces one tag with others (or with nothing)." },
  { value: "trigger", label: "Set the trigger word", help: "Puts your trigger word first in every caption (moved there if present)." },
];

export interface BulkEditProps {
  dataset: string;
  selection: string[];
  filter: TagFilter;
  shownCount: number;
  totalCount: number;
  /** After an edit or its undo: reload the captions. */
  onChanged: () => void;
  api?: Pick<DatasetApi, "editTags" | "undo">;
}

interface Done {
  report: TagEditReport;
  words: string;
  undone?: boolean;
}

export const BulkEdit = memo(function BulkEdit({ dataset, selection, filter, shownCount, totalCount, onChanged, api = datasetApi }: BulkEditProps) {
  const [action, setAction] = useState<Action>("add");
  const [tags, setTags] = useState("");
  const [replacement, setReplacement] = useState("");
  const [front, setFront] = useState(false);
  const [target, setTarget] = useState<Target>(selection.length ? "selection" : "all");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<Done | null>(null);

  const effectiveTarget: Target =
    target === "selection" && !selection.length ? "all" : target === "filter" && isFilterEmpty(filter) ? "all" : target;
  const count = effectiveTarget === "selection" ? selection.length : effectiveTarget === "filter" ? shownCount : totalCount;
  const list = parseTags(tags);
  const ready = action === "replace" ? list.length === 1 : list.length > 0 && (action !== "trigger" || list.length === 1);

  const apply = async () => {
    setBusy(true);
    setError(null);
    const body: Record<string, unknown> = { action: action === "replace" ? "replace" : action, tags: action === "replace" ? [] : list };
    if (action === "replace") body.mapping = { [list[0]!]: replacement };
    if (action === "add") body.front = front;
    if (effectiveTarget === "selection") body.paths = selection;
    if (effectiveTarget === "filter") {
      body.all_of = filter.having;
      body.none_of = filter.notHaving;
    }
    const words =
      action === "add"
        ? `Added ${list.join(", ")}`
        : action === "remove"
          ? `Removed ${list.join(", ")}`
          : action === "replace"
            ? `Replaced ${list[0]} with ${replacement || "nothing"}`
            : `Set the trigger word ${list[0]}`;
    try {
      const report = await api.editTags(dataset, body);
      setDone({ report, words });
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const undo = async () => {
    if (!done?.report.journal_id) return;
    setBusy(true);
    setError(null);
    try {
      await api.undo(dataset, done.report.journal_id);
      setDone({ ...done, undone: true });
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const help = ACTIONS.find((a) => a.value === action)!.help;
  return (
    <Stack gap="xs">
      <Select
        label="Change"
        description={help}
        data={ACTIONS.map(({ value, label }) => ({ value, label }))}
        value={action}
        onChange={(v) => v && setAction(v as Action)}
        allowDeselect={false}
        size="xs"
      />
      <TextInput
        label={action === "replace" ? "Replace this tag" : action === "trigger" ? "Trigger word" : "Tags"}
        description={action === "add" || action === "remove" ? "Separate several with commas." : undefined}
        placeholder={action === "trigger" ? "e.g. ohwx" : "e.g. smile, outdoors"}
        value={tags}
        onChange={(e) => setTags(e.currentTarget.value)}
        size="xs"
      />
      {action === "replace" && (
        <TextInput
          label="With"
          description="One or more tags separated by commas; leave empty to remove it."
          value={replacement}
          onChange={(e) => setReplacement(e.currentTarget.value)}
          size="xs"
        />
      )}
      {action === "add" && (
        <Checkbox label="Put them at the start of the caption" checked={front} onChange={(e) => setFront(e.currentTarget.checked)} size="xs" />
      )}
      <Radio.Group label="Apply to" value={effectiveTarget} onChange={(v) => setTarget(v as Target)} size="xs">
        <Stack gap={4} mt={4}>
          <Radio value="selection" label={`The selected images (${selection.length})`} disabled={!selection.length} />
          <Radio value="filter" label={`The images the tag filter shows (${shownCount})`} disabled={isFilterEmpty(filter)} />
          <Radio value="all" label={`All images (${totalCount})`} />
        </Stack>
      </Radio.Group>
      <Button onClick={() => void apply()} disabled={!ready} loading={busy && !done} size="xs">
        Apply to {count} {count === 1 ? "image" : "images"}
      </Button>
      {error ? <ErrorNotice error={error} /> : null}
      {done && (
        <Paper withBorder p="xs" role="status">
          <Group justify="space-between" gap="xs">
            <Text size="sm">
              <span aria-hidden>{done.undone ? "↶" : "✓"}</span>{" "}
              {done.undone
                ? `${done.words}: undone, every caption is as it was.`
                : `${done.words} in ${done.report.changed.length} ${done.report.changed.length === 1 ? "caption" : "captions"}.`}
              {Object.keys(done.report.skipped ?? {}).length ? ` ${Object.keys(done.report.skipped).length} skipped.` : ""}
            </Text>
            {!done.undone && done.report.journal_id && (
              <Button size="compact-xs" variant="default" onClick={() => void undo()} loading={busy}>
                Undo
              </Button>
            )}
          </Group>
        </Paper>
      )}
    </Stack>
  );
});
