/**
 * The tags of a dataset's captions with how many captions carry each, and the having / not-having filter:
 * "Must have" shows only images whose caption has the tag, "Must not have" only those without it.
 */
import { Badge, Button, CloseButton, Group, ScrollArea, Stack, Text, TextInput } from "@mantine/core";
import { memo, useMemo, useState } from "react";

import { isFilterEmpty, withTag, type TagCount, type TagFilter } from "./tags";

const SHOWN = 150;

export interface TagPanelProps {
  tags: TagCount[];
  /** Captions counted (images with a caption file). */
  captions: number;
  filter: TagFilter;
  onFilterChange: (filter: TagFilter) => void;
  /** Shown while the rest of the captions still load. */
  loadingNote?: string | null;
}

export const TagPanel = memo(function TagPanel({ tags, captions, filter, onFilterChange, loadingNote }: TagPanelProps) {
  const [search, setSearch] = useState("");
  const [showAll, setShowAll] = useState(false);
  const found = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return needle ? tags.filter((t) => t.key.includes(needle)) : tags;
  }, [tags, search]);
  const shown = showAll ? found : found.slice(0, SHOWN);
  const label = (key: string) => tags.find((t) => t.key === key)?.tag ?? key;

  return (
    <Stack gap="xs">
      <Text size="sm" c="dimmed">
        {tags.length} different tags in {captions} captions. Filter the images by the tags they have or lack.
      </Text>
      {loadingNote ? (
        <Text size="xs" c="dimmed" role="status">
          {loadingNote}
        </Text>
      ) : null}
      {!isFilterEmpty(filter) && (
        <Group gap={6} role="group" aria-label="Active filter">
          {filter.having.map((key) => (
            <Badge key={`h-${key}`} variant="light" rightSection={<CloseButton size="xs" aria-label={`Stop requiring ${label(key)}`} onClick={() => onFilterChange(withTag(filter, key, null))} />}>
              with: {label(key)}
            </Badge>
          ))}
          {filter.notHaving.map((key) => (
            <Badge key={`n-${key}`} variant="default" rightSection={<CloseButton size="xs" aria-label={`Stop excluding ${label(key)}`} onClick={() => onFilterChange(withTag(filter, key, null))} />}>
              without: {label(key)}
            </Badge>
          ))}
          <Button size="compact-xs" variant="subtle" onClick={() => onFilterChange({ having: [], notHaving: [] })}>
            Clear filter
          </Button>
        </Group>
      )}
      <TextInput
        label="Find a tag"
        placeholder="Type part of a tag"
        value={search}
        onChange={(e) => setSearch(e.currentTarget.value)}
        size="xs"
      />
      <ScrollArea.Autosize mah={420} type="auto">
        <ul className="lk-tag-list" aria-label="Tags by frequency">
          {shown.map((t) => {
            const having = filter.having.includes(t.key);
            const notHaving = filter.notHaving.includes(t.key);
            return (
              <li key={t.key} className="lk-tag-row">
                <div className="lk-tag-name">
                  <Text size="sm" span fw={having || notHaving ? 600 : 400}>
                    {t.tag}
                  </Text>
                  <Text size="xs" c="dimmed" span data-testid="tag-count">
                    {t.count} {t.count === 1 ? "image" : "images"}
                  </Text>
                  <span className="lk-tag-bar" aria-hidden style={{ width: `${captions ? (100 * t.count) / captions : 0}%` }} />
                </div>
                <Group gap={4} wrap="nowrap">
                  <Button
                    size="compact-xs"
                    variant={having ? "filled" : "default"}
                    aria-pressed={having}
                    aria-label={`Must have ${t.tag}`}
                    onClick={() => onFilterChange(withTag(filter, t.key, having ? null : "having"))}
                  >
                    Must have
                  </Button>
                  <Button
                    size="compact-xs"
                    variant={notHaving ? "filled" : "default"}
                    aria-pressed={notHaving}
                    aria-label={`Must not have ${t.tag}`}
                    onClick={() => onFilterChange(withTag(filter, t.key, notHaving ? null : "notHaving"))}
                  >
                    Must not have
                  </Button>
                </Group>
              </li>
            );
          })}
        </ul>
      </ScrollArea.Autosize>
      {found.length > shown.length && (
        <Button size="compact-sm" variant="subtle" onClick={() => setShowAll(true)}>
          Show all {found.length} tags
        </Button>
      )}
      {found.length === 0 && <Text size="sm">No tag matches “{search}”.</Text>}
    </Stack>
  );
});
