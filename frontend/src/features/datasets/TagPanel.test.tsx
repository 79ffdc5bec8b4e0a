import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";

import { renderWithProviders } from "@/test/render";

import { TagPanel } from "./TagPanel";
import { matchesFilter, NO_FILTER, tagFrequencies, type TagFilter } from "./tags";

const CAPTIONS = ["cat, smile, outdoors", "cat, sitting", "dog, smile", "cat, long_hair", null];

function Harness({ onChange }: { onChange?: (f: TagFilter) => void }) {
  const [filter, setFilter] = useState<TagFilter>(NO_FILTER);
  const shown = CAPTIONS.filter((c) => matchesFilter(c, filter));
  return (
    <>
      <TagPanel
        tags={tagFrequencies(CAPTIONS)}
        captions={4}
        filter={filter}
        onFilterChange={(f) => {
          setFilter(f);
          onChange?.(f);
        }}
      />
      <output aria-label="shown">{shown.length}</output>
    </>
  );
}

describe("TagPanel", () => {
  it("lists tags by frequency with their counts", () => {
    renderWithProviders(<Harness />);
    const rows = screen.getAllByRole("listitem");
    expect(rows.map((r) => r.textContent?.replace(/Must.*$/, ""))).toEqual([
      "cat3 images",
      "smile2 images",
      "dog1 image",
      "long hair1 image",
      "outdoors1 image",
      "sitting1 image",
    ]);
    expect(screen.getByText(/6 different tags in 4 captions/)).toBeInTheDocument();
  });

  it("filters by having and by not having a tag", async () => {
    const user = userEvent.setup();
    const onChange = vi.fn();
    renderWithProviders(<Harness onChange={onChange} />);
    expect(screen.getByLabelText("shown")).toHaveTextContent("5");

    await user.click(screen.getByRole("button", { name: "Must have cat" }));
    expect(onChange).toHaveBeenLastCalledWith({ having: ["cat"], notHaving: [] });
    expect(screen.getByRole("button", { name: "Must have cat" })).toHaveAttribute("aria-pressed", "true");
    expect(screen.getByLabelText("shown")).toHaveTextContent("3");

    await user.click(screen.getByRole("button", { name: "Must not have smile" }));
    expect(onChange).toHaveBeenLastCalledWith({ having: ["cat"], notHaving: ["smile"] });
    expect(screen.getByLabelText("shown")).toHaveTextContent("2");
    expect(screen.getByRole("group", { name: "Active filter" })).toHaveTextContent("with: cat");

    await user.click(screen.getByRole("button", { name: "Stop requiring cat" }));
    expect(onChange).toHaveBeenLastCalledWith({ having: [], notHaving: ["smile"] });
    expect(screen.getByLabelText("shown")).toHaveTextContent("3"); // sitting, long hair, and the uncaptioned one

    await user.click(screen.getByRole("button", { name: "Clear filter" }));
    expect(screen.getByLabelText("shown")).toHaveTextContent("5");
  });

  it("finds a tag by part of its name", async () => {
    const user = userEvent.setup();
    renderWithProviders(<Harness />);
    await user.type(screen.getByRole("textbox", { name: "Find a tag" }), "ha");
    expect(screen.getAllByRole("listitem").map((r) => r.textContent?.replace(/\d.*$/, ""))).toEqual(["long hair"]);
    await user.type(screen.getByRole("textbox", { name: "Find a tag" }), "zzz");
    expect(screen.getByText(/No tag matches/)).toBeInTheDocument();
  });
});
