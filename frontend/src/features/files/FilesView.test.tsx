import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router-dom";
import { describe, expect, it } from "vitest";
import { ApiError } from "@/api/client";
import { renderWithProviders } from "@/test/render";
import { FakeWorkspace } from "./fakeWorkspace";
import { FilesView } from "./FilesView";
import { UploadQueue } from "./uploadQueue";

function setup(paths: string[], route = "/files/datasets/cats") {
  const ws = new FakeWorkspace(paths);
  const queue = new UploadQueue(ws.uploads, { chunkSize: 4, sleep: () => new Promise((r) => setTimeout(r, 5)) });
  const user = userEvent.setup();
  renderWithProviders(
    <Routes>
      <Route path="/files/*" element={<FilesView api={ws.api} queue={queue} />} />
    </Routes>,
    { route },
  );
  return { ws, queue, user };
}

const fileTable = () => screen.findByRole("table", { name: "Files and folders" });

function inFolder(file: File, relativePath: string): File {
  Object.defineProperty(file, "webkitRelativePath", { value: relativePath });
  return file;
}

// Each test drives the whole page through many steps: give it time on a busy machine.
describe("Files page", { timeout: 30_000 }, () => {
  it("browses folders and goes back up with the breadcrumbs", async () => {
    const { user } = setup(["datasets/cats/a.png", "datasets/cats/10_cat/b.png"], "/files/datasets");
    const table = await fileTable();
    await user.click(within(table).getByRole("link", { name: "cats" }));
    expect(await screen.findByText("a.png")).toBeInTheDocument();
    const crumbs = screen.getByRole("navigation", { name: "Folder path" });
    expect(within(crumbs).getByText("cats")).toHaveAttribute("aria-current", "page");
    await user.click(within(crumbs).getByRole("link", { name: "datasets" }));
    expect(await screen.findByRole("link", { name: "cats" })).toBeInTheDocument();
    expect(screen.queryByText("a.png")).not.toBeInTheDocument();
  });

  it("refuses a rename onto a taken name at the field, in the server's words, then renames", async () => {
    const { ws, user } = setup(["datasets/cats/a.png", "datasets/cats/b.png"]);
    await fileTable();
    await user.click(screen.getByRole("button", { name: "Actions for a.png" }));
    await user.click(await screen.findByRole("menuitem", { name: "Rename…" }));
    const dialog = await screen.findByRole("dialog", { name: "Rename a.png" });
    const field = within(dialog).getByLabelText(/New name/);
    await user.clear(field);
    await user.type(field, "b.png");
    await user.click(within(dialog).getByRole("button", { name: "Rename" }));
    expect(await within(dialog).findByText("'b.png' already exists there. Choose another name.")).toBeInTheDocument();
    expect(field).toHaveAttribute("aria-invalid", "true");
    await user.clear(field);
    await user.type(field, "c.png");
    await user.click(within(dialog).getByRole("button", { name: "Rename" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(await screen.findByText("c.png")).toBeInTheDocument();
    expect(ws.nodes.has("datasets/cats/c.png") && !ws.nodes.has("datasets/cats/a.png")).toBe(true);
    expect(screen.getByRole("status")).toHaveTextContent("Renamed a.png to c.png.");
  });

  it("trashes a multi-selection with Undo, and restores from the Trash tab", async () => {
    const { ws, user } = setup(["datasets/cats/a.png", "datasets/cats/a.txt", "datasets/cats/b.png"]);
    await fileTable();
    await user.click(screen.getByRole("checkbox", { name: "Select a.png" }));
    await user.click(screen.getByRole("checkbox", { name: "Select a.txt" }));
    expect(screen.getByText("2 items selected:")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Move selected to the trash" }));
    expect(await screen.findByText("Moved 2 items to the trash.")).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByText("a.png")).not.toBeInTheDocument());
    expect(ws.trashed.map((t) => t.original_path).sort()).toEqual(["datasets/cats/a.png", "datasets/cats/a.txt"]);

    await user.click(screen.getByRole("button", { name: "Undo" }));
    expect(await screen.findByText("Undone: the items are back where they were.")).toBeInTheDocument();
    expect(await screen.findByText("a.png")).toBeInTheDocument();
    expect(ws.trashed).toEqual([]);

    // The Delete key trashes the selection too (a shortcut listed in the ? overlay).
    await user.click(screen.getByRole("checkbox", { name: "Select a.txt" }));
    await user.keyboard("{Delete}");
    expect(await screen.findByText("Moved a.txt to the trash.")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Undo" }));
    await waitFor(() => expect(ws.trashed).toEqual([]));

    // Trash b.png from its menu, then restore it from the Trash tab.
    await user.click(screen.getByRole("button", { name: "Actions for b.png" }));
    await user.click(await screen.findByRole("menuitem", { name: "Move to the trash" }));
    await waitFor(() => expect(ws.trashed).toHaveLength(1));
    await user.click(screen.getByRole("tab", { name: /Trash/ }));
    const trash = await screen.findByRole("table", { name: "Trashed files and folders" });
    expect(within(trash).getByText("datasets/cats/b.png")).toBeInTheDocument();
    await user.click(within(trash).getByRole("button", { name: "Restore b.png to datasets/cats/b.png" }));
    expect(await screen.findByText("Restored b.png to datasets/cats/b.png.")).toBeInTheDocument();
    expect(await screen.findByText("The trash is empty.")).toBeInTheDocument();
    expect(ws.nodes.has("datasets/cats/b.png")).toBe(true);
  });

  it("uploads a picked folder with progress per file and overall, and lists the skipped files", async () => {
    const { ws, user } = setup([], "/files/datasets");
    await screen.findByText(/This folder is empty/);
    const files = [
      inFolder(new File(["0123456789"], "a.png"), "dogs/a.png"),
      inFolder(new File(["a dog"], "a.txt"), "dogs/a.txt"),
      inFolder(new File(["x"], ".DS_Store"), "dogs/.DS_Store"),
      inFolder(new File(["%PDF"], "notes.pdf"), "dogs/notes.pdf"),
    ];
    await user.upload(screen.getByLabelText("Folder to upload"), files);

    const skipped = await screen.findByRole("list", { name: "Skipped files" });
    expect(within(skipped).getByText(/dogs\/\.DS_Store: a hidden file/)).toBeInTheDocument();
    expect(within(skipped).getByText(/dogs\/notes\.pdf: not an image or a caption/)).toBeInTheDocument();
    expect(await screen.findByText("Uploads finished: 2 of 2 files uploaded")).toBeInTheDocument();
    expect(screen.getByRole("progressbar", { name: "All uploads" })).toHaveAttribute("aria-valuenow", "100");
    expect(screen.getByRole("progressbar", { name: "Upload of datasets/dogs/a.png" })).toHaveAttribute("aria-valuenow", "100");
    // Chunks of 4 bytes: a.png went up in three requests, in order.
    expect(ws.uploads.sends.filter((s) => s.path === "datasets/dogs/a.png").map((s) => s.offset)).toEqual([0, 4, 8]);
    expect(new TextDecoder().decode(ws.uploads.files.get("datasets/dogs/a.txt"))).toBe("a dog");
    expect(await screen.findByRole("link", { name: "dogs" })).toBeInTheDocument();
  });

  it("says when the server is away during an upload, and finishes when it is back", async () => {
    const { ws, user } = setup(["datasets/cats/"]);
    await screen.findByText(/This folder is empty/);
    ws.uploads.failNext(1, () => {
      ws.uploads.down = true;
      return new TypeError("Failed to fetch");
    });
    await user.upload(screen.getByLabelText("Files to upload"), [new File(["0123456789"], "c.png")]);
    expect(await screen.findByRole("alert")).toHaveTextContent("The server is not answering");
    expect(screen.getByText(/Paused: the server is not answering/)).toBeInTheDocument();
    ws.uploads.down = false;
    expect(await screen.findByText("Uploads finished: 1 of 1 file uploaded")).toBeInTheDocument();
    expect(screen.queryByText("The server is not answering")).not.toBeInTheDocument();
    expect(Array.from(ws.uploads.files.get("datasets/cats/c.png") ?? [])).toEqual(Array.from(new TextEncoder().encode("0123456789")));
  });

  it("shows the server's refusal of a ZIP with path escapes in plain words", async () => {
    const { ws, user } = setup(["datasets/cats/evil.zip"]);
    ws.importAnswer = new ApiError(400, {
      code: "unsafe_archive",
      message: "evil.zip was not imported: 1 of its entries would land outside the dataset folder or are links ('../x.png').",
      fix: "Make the ZIP again from a plain folder of images (zip tools do this by default), then upload it.",
      field: "sources",
    });
    await fileTable();
    await user.click(screen.getByRole("button", { name: "Actions for evil.zip" }));
    await user.click(await screen.findByRole("menuitem", { name: "Import as a dataset…" }));
    const dialog = await screen.findByRole("dialog", { name: "Import a ZIP as a dataset" });
    expect(within(dialog).getByLabelText(/Dataset name/)).toHaveValue("evil");
    await user.click(within(dialog).getByRole("button", { name: "Import" }));
    const alert = await within(dialog).findByRole("alert");
    expect(alert).toHaveTextContent("The ZIP was not imported");
    expect(alert).toHaveTextContent("evil.zip was not imported: 1 of its entries would land outside the dataset folder");
    expect(alert).toHaveTextContent("What to do: Make the ZIP again from a plain folder of images");
    expect(ws.calls).toContain("import datasets/cats/evil.zip datasets/evil");
  });

  it("makes a new folder, and moves a selection into it with Undo", async () => {
    const { ws, user } = setup(["datasets/cats/a.png"]);
    await fileTable();
    await user.keyboard("n"); // the shortcut for "New folder"
    const dialog = await screen.findByRole("dialog", { name: "New folder" });
    await user.type(within(dialog).getByLabelText(/Folder name/), "keep");
    await user.click(within(dialog).getByRole("button", { name: "Make the folder" }));
    expect(await screen.findByRole("link", { name: "keep" })).toBeInTheDocument();

    await user.click(screen.getByRole("checkbox", { name: "Select a.png" }));
    await user.click(screen.getByRole("button", { name: "Move selected…" }));
    const move = await screen.findByRole("dialog", { name: "Move a.png" });
    const to = within(move).getByLabelText(/Move into folder/);
    await user.clear(to);
    await user.type(to, "datasets/cats/keep");
    await user.click(within(move).getByRole("button", { name: "Move" }));
    expect(await screen.findByText("Moved 1 item into datasets/cats/keep.")).toBeInTheDocument();
    expect(ws.nodes.has("datasets/cats/keep/a.png")).toBe(true);
    await user.click(screen.getByRole("button", { name: "Undo" }));
    await waitFor(() => expect(ws.nodes.has("datasets/cats/a.png")).toBe(true));
  });
});
