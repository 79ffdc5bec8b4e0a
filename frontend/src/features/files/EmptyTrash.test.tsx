import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router-dom";
import { describe, expect, it } from "vitest";
import { ApiError } from "@/api/client";
import { renderWithProviders } from "@/test/render";
import { FakeWorkspace } from "./fakeWorkspace";
import { FilesView } from "./FilesView";
import { UploadQueue } from "./uploadQueue";

async function trashTab(paths: string[], trash: string[]) {
  const ws = new FakeWorkspace(paths);
  await ws.api.trash(trash);
  const queue = new UploadQueue(ws.uploads);
  const user = userEvent.setup();
  renderWithProviders(
    <Routes>
      <Route path="/files/*" element={<FilesView api={ws.api} queue={queue} />} />
    </Routes>,
    { route: "/files/datasets/cats?view=trash" },
  );
  await screen.findByRole("table", { name: "Trashed files and folders" });
  return { ws, user };
}

describe("Emptying the trash", { timeout: 30_000 }, () => {
  it("asks first, says it cannot be undone, and keeps everything on 'Keep them'", async () => {
    const { ws, user } = await trashTab(["datasets/cats/a.png", "datasets/cats/b.png"], ["datasets/cats/a.png", "datasets/cats/b.png"]);
    await user.click(screen.getByRole("button", { name: "Empty the trash…" }));
    const dialog = await screen.findByRole("dialog", { name: "Empty the trash?" });
    expect(within(dialog).getByText(/deletes the 2 items in the trash for good/)).toBeInTheDocument();
    expect(within(dialog).getByText(/cannot be undone/)).toBeInTheDocument();
    // The safe choice has the focus: Enter right away keeps the files.
    await waitFor(() => expect(within(dialog).getByRole("button", { name: "Keep them" })).toHaveFocus());
    await user.keyboard("{Enter}");
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(ws.calls).not.toContain("empty trash");
    expect(ws.trashed).toHaveLength(2);
  });

  it("deletes for good on the explicit button and shows the empty trash", async () => {
    const { ws, user } = await trashTab(["datasets/cats/a.png", "datasets/cats/b.png"], ["datasets/cats/a.png"]);
    await user.click(screen.getByRole("button", { name: "Empty the trash…" }));
    const dialog = await screen.findByRole("dialog", { name: "Empty the trash?" });
    await user.click(within(dialog).getByRole("button", { name: "Delete 1 item for good" }));
    expect(await screen.findByText("Emptied the trash: 1 item deleted for good.")).toBeInTheDocument();
    expect(await screen.findByText("The trash is empty.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Empty the trash…" })).not.toBeInTheDocument();
    expect(ws.calls).toContain("empty trash");
    expect(screen.queryByRole("button", { name: "Undo" })).not.toBeInTheDocument(); // nothing to undo: it said so
  });

  it("shows the server's refusal in the dialog, in plain words", async () => {
    const { ws, user } = await trashTab(["datasets/cats/a.png"], ["datasets/cats/a.png"]);
    ws.api.emptyTrash = async () => {
      throw new ApiError(500, { code: "internal", message: "The trash could not be read.", fix: "Check the workspace's trash folder." });
    };
    await user.click(screen.getByRole("button", { name: "Empty the trash…" }));
    const dialog = await screen.findByRole("dialog", { name: "Empty the trash?" });
    await user.click(within(dialog).getByRole("button", { name: "Delete 1 item for good" }));
    expect(await within(dialog).findByText(/The trash could not be read\./)).toBeInTheDocument();
    expect(ws.trashed).toHaveLength(1);
  });
});
