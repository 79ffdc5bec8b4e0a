import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { ApiError } from "@/api/client";
import { renderWithProviders } from "@/test/render";

import { BulkEdit } from "./BulkEdit";

const report = { journal_id: "j1", changed: ["a.txt", "b.txt"], conflicts: [], matched: 2, skipped: {} };

describe("BulkEdit", () => {
  it("adds tags to the selection, then Undo undoes exactly that journal entry", async () => {
    const user = userEvent.setup();
    const api = { editTags: vi.fn(async () => report), undo: vi.fn(async () => []) };
    const onChanged = vi.fn();
    renderWithProviders(
      <BulkEdit dataset="cats" selection={["a.png", "b.png"]} filter={{ having: [], notHaving: [] }} shownCount={9} totalCount={9} onChanged={onChanged} api={api} />,
    );
    await user.type(screen.getByRole("textbox", { name: "Tags" }), "smile, outdoors");
    await user.click(screen.getByRole("checkbox", { name: /at the start/ }));
    await user.click(screen.getByRole("button", { name: "Apply to 2 images" }));
    expect(api.editTags).toHaveBeenCalledWith("cats", { action: "add", tags: ["smile", "outdoors"], front: true, paths: ["a.png", "b.png"] });
    expect(await screen.findByText(/Added smile, outdoors in 2 captions/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Undo" }));
    expect(api.undo).toHaveBeenCalledWith("cats", "j1");
    expect(await screen.findByText(/undone, every caption is as it was/)).toBeInTheDocument();
    expect(onChanged).toHaveBeenCalledTimes(2);
  });

  it("sets the trigger word on the images the filter shows (the server's filter), and shows a refused Undo", async () => {
    const user = userEvent.setup();
    const refused = new ApiError(409, { code: "conflict", message: "That edit is no longer the latest one.", fix: "Undo the newer edits first." });
    const api = { editTags: vi.fn(async () => report), undo: vi.fn().mockRejectedValue(refused) };
    renderWithProviders(
      <BulkEdit dataset="cats" selection={[]} filter={{ having: ["cat"], notHaving: ["dog"] }} shownCount={4} totalCount={9} onChanged={() => {}} api={api} />,
    );
    await user.click(screen.getByRole("textbox", { name: "Change" }));
    await user.click(screen.getByRole("option", { name: "Set the trigger word" }));
    await user.type(screen.getByRole("textbox", { name: "Trigger word" }), "ohwx");
    await user.click(screen.getByRole("radio", { name: /the tag filter shows \(4\)/ }));
    await user.click(screen.getByRole("button", { name: "Apply to 4 images" }));
    expect(api.editTags).toHaveBeenCalledWith("cats", { action: "trigger", tags: ["ohwx"], all_of: ["cat"], none_of: ["dog"] });
    await user.click(await screen.findByRole("button", { name: "Undo" }));
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent("Undo the newer edits first."));
  });

  it("replace takes one tag and what to put instead", async () => {
    const user = userEvent.setup();
    const api = { editTags: vi.fn(async () => report), undo: vi.fn() };
    renderWithProviders(
      <BulkEdit dataset="cats" selection={[]} filter={{ having: [], notHaving: [] }} shownCount={9} totalCount={9} onChanged={() => {}} api={api} />,
    );
    await user.click(screen.getByRole("textbox", { name: "Change" }));
    await user.click(screen.getByRole("option", { name: "Replace a tag" }));
    await user.type(screen.getByRole("textbox", { name: "Replace this tag" }), "long_hair");
    await user.type(screen.getByRole("textbox", { name: "With" }), "very long hair, braid");
    await user.click(screen.getByRole("button", { name: "Apply to 9 images" }));
    expect(api.editTags).toHaveBeenCalledWith("cats", { action: "replace", tags: [], mapping: { "long hair": "very long hair, braid" } });
  });
});
