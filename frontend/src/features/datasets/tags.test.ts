import { describe, expect, it } from "vitest";

import { captionPathFor, matchesFilter, mergedTagFrequencies, normalizeTag, parseTags, tagFrequencies, withTag } from "./tags";

describe("tags in the server's normal form", () => {
  it("normalises like lorakit.data.tags.normalize_tag", () => {
    expect(normalizeTag("  long_hair ")).toBe("long hair");
    expect(normalizeTag("^_^")).toBe("^_^");
    expect(normalizeTag(">_<")).toBe(">_<");
    expect(normalizeTag("hat \\(blue\\)")).toBe("hat (blue)");
    expect(normalizeTag("a   b")).toBe("a b");
    expect(parseTags("cat, , long_hair,smile ,")).toEqual(["cat", "long hair", "smile"]);
  });

  it("counts captions per tag, case-insensitively, once per caption", () => {
    const counts = tagFrequencies(["cat, Smile, smile", "cat", null, "", "dog, cat"]);
    expect(counts.map((c) => [c.key, c.count])).toEqual([
      ["cat", 3],
      ["dog", 1],
      ["smile", 1],
    ]);
    expect(counts[2]!.tag).toBe("Smile");
  });

  it("filters by having and not having", () => {
    const filter = withTag(withTag({ having: [], notHaving: [] }, "cat", "having"), "smile", "notHaving");
    expect(matchesFilter("cat, sitting", filter)).toBe(true);
    expect(matchesFilter("Cat, smile", filter)).toBe(false);
    expect(matchesFilter("dog", filter)).toBe(false);
    expect(matchesFilter(null, { having: [], notHaving: ["cat"] })).toBe(true);
    expect(withTag(filter, "cat", null)).toEqual({ having: [], notHaving: ["smile"] });
  });

  it("names the caption file like the server", () => {
    expect(captionPathFor("10_cat/a.b.png")).toBe("10_cat/a.b.txt");
    expect(captionPathFor("x.jpeg")).toBe("x.txt");
  });
});

describe("tag counts page by page", () => {
  it("equal the counts over all captions at once", () => {
    const pages = [["cat, Smile", "dog"], [null, "smile, cat, cat"], ["Dog, bird"]].map((page) => page.map((caption) => ({ caption })));
    const all = pages.flat().map((i) => i.caption);
    expect(mergedTagFrequencies(pages, (i) => i.caption)).toEqual(tagFrequencies(all));
  });

  it("count a page again only when it changed", () => {
    const first = [{ caption: "cat" }];
    const second = [{ caption: "cat, dog" }];
    expect(mergedTagFrequencies([first, second], (i) => i.caption).map((t) => [t.key, t.count])).toEqual([
      ["cat", 2],
      ["dog", 1],
    ]);
    const edited = [{ caption: "bird" }];
    expect(mergedTagFrequencies([first, edited], (i) => i.caption).map((t) => [t.key, t.count])).toEqual([
      ["bird", 1],
      ["cat", 1],
    ]);
  });
});
