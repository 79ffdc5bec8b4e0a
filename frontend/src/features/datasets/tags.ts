/**
 * Tags as the server reads them (lorakit.data.tags): the same normal form for lists, filters and counts, so
 * what the tag panel shows and filters is exactly what a bulk edit on the server matches.
 *   trimmed; `\(` read as `(`; `_` written as a space except in kaomoji (`^_^`); runs of spaces made one;
 *   compared case-insensitively.
 */

const KAOMOJI = new Set([
  "0_0", "(o)_(o)", "+_+", "+_-", "._.", "<o>_<o>", "<|>_<|>", "=_=", ">_<", "3_3", "6_9", ">_o",
  "@_@", "^_^", "o_o", "u_u", "x_x", "|_|", "||_||", "t_t", "-_-", ";_;",
]);

const LETTER = /\p{L}/u;

export function isKaomoji(tag: string): boolean {
  if (KAOMOJI.has(tag.toLowerCase())) return true;
  return tag.includes("_") && [...tag].length <= 5 && !LETTER.test(tag);
}

export function normalizeTag(raw: string): string {
  let tag = raw.trim();
  if (tag.includes("\\")) tag = tag.replaceAll("\\(", "(").replaceAll("\\)", ")");
  if (tag.includes("_") && !isKaomoji(tag)) tag = tag.replaceAll("_", " ").trim();
  return tag.replace(/\s+/g, " ");
}

/** A caption's tags in the normal form, in order, empty pieces dropped. */
export function parseTags(text: string): string[] {
  const out: string[] = [];
  for (const piece of text.split(",")) {
    const tag = normalizeTag(piece);
    if (tag) out.push(tag);
  }
  return out;
}

export function tagKey(tag: string): string {
  return normalizeTag(tag).toLowerCase();
}

export interface TagCount {
  /** The spelling seen first (for display). */
  tag: string;
  /** The compared form (lower case). */
  key: string;
  /** How many captions carry it. */
  count: number;
}

/** How many captions carry each tag, most frequent first (then A-Z). `null` (no caption file) is not a caption. */
export function tagFrequencies(captions: Iterable<string | null | undefined>): TagCount[] {
  const counts = new Map<string, TagCount>();
  for (const caption of captions) {
    if (caption == null) continue;
    const seen = new Set<string>();
    for (const tag of parseTags(caption)) {
      const key = tag.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = counts.get(key);
      if (entry) entry.count += 1;
      else counts.set(key, { tag, key, count: 1 });
    }
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

/**
 * `tagFrequencies` of all the groups' captions together, each group counted once and kept (by the group's
 * array) while it does not change: a dataset's captions come in pages, and a new page only counts itself.
 */
const groupCounts = new WeakMap<readonly unknown[], TagCount[]>();

export function mergedTagFrequencies<T>(groups: readonly (readonly T[])[], caption: (item: T) => string | null | undefined): TagCount[] {
  const counts = new Map<string, TagCount>();
  for (const group of groups) {
    let own = groupCounts.get(group);
    if (!own) {
      own = tagFrequencies(group.map(caption));
      groupCounts.set(group, own);
    }
    for (const { tag, key, count } of own) {
      const entry = counts.get(key);
      if (entry) entry.count += count;
      else counts.set(key, { tag, key, count });
    }
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

/** Which images to show: those whose caption has every tag of `having` and none of `notHaving`. */
export interface TagFilter {
  having: string[];
  notHaving: string[];
}

export const NO_FILTER: TagFilter = { having: [], notHaving: [] };

export function isFilterEmpty(filter: TagFilter): boolean {
  return filter.having.length === 0 && filter.notHaving.length === 0;
}

/** Like the server's TagFilter(all_of, none_of). An image without a caption has no tags. */
export function matchesFilter(caption: string | null | undefined, filter: TagFilter): boolean {
  if (isFilterEmpty(filter)) return true;
  const have = new Set(parseTags(caption ?? "").map((t) => t.toLowerCase()));
  return filter.having.every((t) => have.has(tagKey(t))) && !filter.notHaving.some((t) => have.has(tagKey(t)));
}

/** The filter with `key` set to `mode` (or removed from both lists with `null`). */
export function withTag(filter: TagFilter, key: string, mode: "having" | "notHaving" | null): TagFilter {
  const having = filter.having.filter((t) => t !== key);
  const notHaving = filter.notHaving.filter((t) => t !== key);
  if (mode === "having") having.push(key);
  if (mode === "notHaving") notHaving.push(key);
  return { having, notHaving };
}

/** The caption file next to an image (same folder and stem, `.txt`), as the server names it. */
export function captionPathFor(imagePath: string): string {
  const slash = imagePath.lastIndexOf("/");
  const dot = imagePath.lastIndexOf(".");
  const stem = dot > slash + 1 ? imagePath.slice(0, dot) : imagePath;
  return `${stem}.txt`;
}
