import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { renderWithProviders } from "@/test/render";
import type { Entry } from "./api";
import { FileTable } from "./FileTable";

const entry = (name: string): Entry => ({ name, path: `datasets/big/${name}`, is_dir: false, size: 5, modified: 1_700_000_000, kind: "image" });

describe("FileTable", () => {
  it("draws a big folder a page of rows at a time; Select all still covers every file", async () => {
    const entries = ["a.png", "b.png", "c.png", "d.png", "e.png"].map(entry);
    const onToggleAll = vi.fn();
    const noop = () => {};
    renderWithProviders(
      <FileTable
        entries={entries}
        selected={new Set()}
        fixed={() => false}
        pageSize={2}
        onToggle={noop}
        onToggleAll={onToggleAll}
        onRename={noop}
        onMove={noop}
        onTrash={noop}
        onImport={noop}
      />,
    );
    const table = screen.getByRole("table", { name: "Files and folders" });
    expect(within(table).getAllByRole("row")).toHaveLength(3); // the header and two files
    expect(screen.getByText("Showing 2 of 5. “Select all” selects all 5.")).toBeInTheDocument();
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Show 2 more" }));
    await user.click(screen.getByRole("button", { name: "Show 1 more" }));
    expect(within(table).getAllByRole("row")).toHaveLength(6);
    expect(screen.queryByRole("button", { name: /more/ })).not.toBeInTheDocument();
    await user.click(screen.getByRole("checkbox", { name: "Select all" }));
    expect(onToggleAll).toHaveBeenCalledOnce();
  });
});
