/** One dataset: its images (grid or caption table) with selection and the tag filter, and the side panels. */
import { Button, Group, SegmentedControl, Tabs, Text } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { startTransition, useCallback, useDeferredValue, useEffect, useMemo, useRef, useState } from "react";

import { useShortcutHelp } from "@/hooks/shortcuts";

import { AutoTagPanel } from "./AutoTagPanel";
import { BulkEdit } from "./BulkEdit";
import { datasetApi } from "./api";
import { CaptionTable } from "./CaptionTable";
import { DuplicatesPanel } from "./DuplicatesPanel";
import { ErrorNotice } from "@/components/ErrorNotice";
import { HealthPanel } from "./HealthPanel";
import { HistoryPanel } from "./HistoryPanel";
import { historyKey, imagesKey, useDatasetImages, useUpdateCaptionInCache } from "./hooks";
import { ImageDrop } from "./ImageDrop";
import { ImageGrid } from "./ImageGrid";
import { TagPanel } from "./TagPanel";
import { NO_FILTER, isFilterEmpty, matchesFilter, mergedTagFrequencies, type TagFilter } from "./tags";
import type { HealthReport, Job } from "./types";

const SHORTCUTS = [
  { keys: ["Enter"], description: "Edit the focused caption (Tab moves between images)" },
  { keys: ["Ctrl+Enter"], description: "Save the caption being edited" },
  { keys: ["Esc"], description: "Stop editing without saving" },
  { keys: ["Space"], description: "Select or unselect the focused image" },
  { keys: ["Shift+click"], description: "Select every image between the last one and this one" },
];

export interface DatasetViewProps {
  name: string;
  health: { job: Job; report: HealthReport } | undefined;
}

export function DatasetView({ name, health }: DatasetViewProps) {
  const client = useQueryClient();
  const images = useDatasetImages(name);
  const updateCaption = useUpdateCaptionInCache(name);
  const [filter, setFilter] = useState<TagFilter>(NO_FILTER);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [view, setView] = useState<"grid" | "table">("grid");
  // The side panels come just after the grid's first paint (rendered in slices, at low priority): the first
  // thumbnails do not wait for the tag list and the bulk edit form.
  const [sideReady, setSideReady] = useState(false);
  useEffect(() => startTransition(() => setSideReady(true)), []);
  const [tab, setTab] = useState("tags");
  const [opened, setOpened] = useState<ReadonlySet<string>>(() => new Set(["tags"]));
  const openTab = (value: string) => {
    setTab(value);
    setOpened((before) => (before.has(value) ? before : new Set(before).add(value)));
  };
  const lastToggled = useRef<number | null>(null);
  useShortcutHelp("Datasets", SHORTCUTS);

  const { items, total } = images;
  // The tag panel follows the pages as they load at low priority (React renders it in slices between frames),
  // so counting 10,000 captions never holds up the grid; each page's tags are counted once.
  const pages = useDeferredValue(images.pages);
  const tags = useMemo(() => mergedTagFrequencies(pages, (i) => i.caption), [pages]);
  const captions = useMemo(() => pages.reduce((n, page) => n + page.filter((i) => i.caption !== null).length, 0), [pages]);
  const filtered = useMemo(
    () => (isFilterEmpty(filter) ? null : items.filter((i) => matchesFilter(i.caption, filter))),
    [items, filter],
  );
  const count = filtered ? filtered.length : total;
  const itemAt = useCallback((index: number) => (filtered ? filtered[index] : items[index]), [filtered, items]);
  const hasCaption = useCallback(
    (path: string) => items.find((i) => i.path === path)?.caption != null,
    [items],
  );

  const onToggle = useCallback(
    (path: string, index: number, range: boolean) => {
      setSelected((before) => {
        const next = new Set(before);
        const on = !before.has(path);
        if (range && lastToggled.current !== null) {
          const [a, b] = [Math.min(lastToggled.current, index), Math.max(lastToggled.current, index)];
          for (let i = a; i <= b; i++) {
            const item = itemAt(i);
            if (item) {
              if (on) next.add(item.path);
              else next.delete(item.path);
            }
          }
        } else if (on) next.add(path);
        else next.delete(path);
        return next;
      });
      lastToggled.current = index;
    },
    [itemAt],
  );

  // Unsaved caption drafts by image, so scrolling an open editor out of the virtualized view loses nothing.
  const drafts = useRef(new Map<string, string>());
  const captionIo = useCallback(
    (path: string) => ({
      save: (text: string, version: string) => datasetApi.saveCaption(name, path, text, version),
      load: () => datasetApi.loadCaption(name, path),
      draft: {
        get: () => drafts.current.get(path),
        set: (text: string | undefined) => {
          if (text === undefined) drafts.current.delete(path);
          else drafts.current.set(path, text);
        },
      },
    }),
    [name],
  );
  const onCaptionSaved = useCallback(
    (path: string, text: string, version: string) => {
      updateCaption(path, text, version);
      void client.invalidateQueries({ queryKey: historyKey(name) });
    },
    [updateCaption, client, name],
  );
  const reload = useCallback(() => {
    void client.invalidateQueries({ queryKey: imagesKey(name) });
    void client.invalidateQueries({ queryKey: historyKey(name) });
  }, [client, name]);

  const shownPaths = () => (filtered ?? items).map((i) => i.path);
  const selection = useMemo(() => [...selected], [selected]);
  const shownLoaded = pages.reduce((n, page) => n + page.length, 0);
  const loadingNote = images.complete && shownLoaded === items.length ? null : `Still loading captions: ${shownLoaded} of ${total} so far.`;
  const View = view === "grid" ? ImageGrid : CaptionTable;

  return (
    <div className="lk-view">
      <div className="lk-view-images">
        <Group justify="space-between" mb="xs" gap="xs">
          <Text size="sm" role="status">
            <strong>{name}</strong>: {total} images, {captions} with captions
            {filtered ? ` · the filter shows ${filtered.length}` : ""}
            {selected.size ? ` · ${selected.size} selected` : ""}
          </Text>
          <Group gap="xs">
            <Button size="compact-sm" variant="default" onClick={() => setSelected(new Set(shownPaths()))}>
              Select all shown
            </Button>
            <Button size="compact-sm" variant="default" disabled={!selected.size} onClick={() => setSelected(new Set())}>
              Clear selection
            </Button>
            <SegmentedControl
              size="xs"
              aria-label="Show the images as"
              value={view}
              onChange={(v) => setView(v as "grid" | "table")}
              data={[
                { value: "grid", label: "Grid" },
                { value: "table", label: "Caption table" },
              ]}
            />
          </Group>
        </Group>
        {images.error ? <ErrorNotice error={images.error} title="The images could not be loaded" /> : null}
        <ImageDrop dataset={name}>
          <View
            dataset={name}
            count={count}
            itemAt={itemAt}
            selected={selected}
            onToggle={onToggle}
            captionIo={captionIo}
            onCaptionSaved={onCaptionSaved}
          />
        </ImageDrop>
      </div>
      <div className="lk-view-side">
        {/* A panel is made when first opened, then kept (a running job or an Undo survives switching tabs). */}
        <Tabs value={tab} onChange={(value) => value && openTab(value)}>
          <Tabs.List>
            <Tabs.Tab value="tags">Tags</Tabs.Tab>
            <Tabs.Tab value="health">Health</Tabs.Tab>
            <Tabs.Tab value="duplicates">Duplicates</Tabs.Tab>
            <Tabs.Tab value="auto">Auto-tag</Tabs.Tab>
            <Tabs.Tab value="history">History</Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="tags" pt="xs">
            {sideReady ? (
              <>
                <BulkEdit
                  dataset={name}
                  selection={selection}
                  filter={filter}
                  shownCount={count}
                  totalCount={total}
                  onChanged={reload}
                />
                <Text fw={600} size="sm" mt="md" mb={4}>
                  Tags
                </Text>
                <TagPanel tags={tags} captions={captions} filter={filter} onFilterChange={setFilter} loadingNote={loadingNote} />
              </>
            ) : null}
          </Tabs.Panel>
          <Tabs.Panel value="health" pt="xs">
            {opened.has("health") ? <HealthPanel dataset={name} latest={health} /> : null}
          </Tabs.Panel>
          <Tabs.Panel value="duplicates" pt="xs">
            {opened.has("duplicates") ? <DuplicatesPanel dataset={name} hasCaption={hasCaption} /> : null}
          </Tabs.Panel>
          <Tabs.Panel value="auto" pt="xs">
            {opened.has("auto") ? <AutoTagPanel dataset={name} selection={selection} /> : null}
          </Tabs.Panel>
          <Tabs.Panel value="history" pt="xs">
            {opened.has("history") ? <HistoryPanel dataset={name} /> : null}
          </Tabs.Panel>
        </Tabs>
      </div>
    </div>
  );
}
