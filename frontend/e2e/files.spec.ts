// The Files page against a real `lorakit serve`: folder upload, rename, trash/undo/restore, ZIP import (and
// the refusal of a ZIP with path escapes), restore of files a dataset job trashed, emptying the trash (the
// one confirm of the app), an upload that survives the server going away, accessibility, screenshots.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { expectNoSeriousA11y } from "./a11y";
import { expect, PYTHON, screenshotPath, test } from "./fixtures";

function python(code: string, ...args: string[]): string {
  return execFileSync(PYTHON, ["-c", code, ...args], { encoding: "utf8" });
}

/** PNGs that differ (Pillow from the project's Python), written as files into `folder`. */
function makeImages(folder: string, names: string[], seed = 0): void {
  mkdirSync(folder, { recursive: true });
  python(
    `import sys; from PIL import Image
folder, seed, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
for i, name in enumerate(names):
    img = Image.new("RGB", (64, 64), ((40 * i + seed) % 256, (90 * i) % 256, 160))
    for x in range(0, 64, 8): img.paste((255, 255, 255), (x, (x * (i + 1)) % 56, x + 4, (x * (i + 1)) % 56 + 8))
    img.save(f"{folder}/{name}")`,
    folder,
    String(seed),
    ...names,
  );
}

function makeZip(path: string, entries: Record<string, string>): void {
  python(
    `import sys, json, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as zf:
    for name, source in json.loads(sys.argv[2]).items():
        zf.write(source, name) if source.endswith(".png") else zf.writestr(name, source)`,
    path,
    JSON.stringify(entries),
  );
}

const table = (page: Page) => page.getByRole("table", { name: "Files and folders" });
const row = (page: Page, name: string) => table(page).getByRole("row").filter({ has: page.getByText(name, { exact: true }) });

test("upload a folder of images with captions, rename, trash with undo, restore from the trash", async ({ page, workspace }) => {
  const local = mkdtempSync(join(tmpdir(), "lorakit-files-"));
  const cats = join(local, "cats");
  makeImages(cats, ["a.png", "b.png"]);
  writeFileSync(join(cats, "a.txt"), "a cat, sitting");
  writeFileSync(join(cats, "b.txt"), "a cat, sleeping");
  writeFileSync(join(cats, ".DS_Store"), "junk");
  writeFileSync(join(cats, "notes.pdf"), "%PDF-1.4");

  await page.goto("/files/datasets");
  await expect(page.getByRole("heading", { level: 1, name: "Files" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Folder path" })).toContainText("Workspace/datasets");
  // The folder picker (webkitdirectory) is what "Upload a folder" opens; keyboard users reach it as a button.
  await page.locator('input[aria-label="Folder to upload"]').setInputFiles(cats);
  await expect(page.getByText("Uploads finished: 4 of 4 files uploaded")).toBeVisible();
  const skipped = page.getByRole("list", { name: "Skipped files" });
  await expect(skipped).toContainText("cats/.DS_Store: a hidden file");
  await expect(skipped).toContainText("cats/notes.pdf: not an image or a caption");
  expect(readFileSync(join(workspace, "datasets", "cats", "a.txt"), "utf8")).toBe("a cat, sitting");
  expect(existsSync(join(workspace, "datasets", "cats", "notes.pdf"))).toBe(false);

  await table(page).getByRole("link", { name: "cats", exact: true }).click();
  await expect(page).toHaveURL(/\/files\/datasets\/cats$/);
  for (const name of ["a.png", "a.txt", "b.png", "b.txt"]) await expect(row(page, name)).toBeVisible();
  await expectNoSeriousA11y(page);

  // Rename onto a taken name: refused in plain words at the field; then a free name works.
  await page.getByRole("button", { name: "Actions for a.png" }).click();
  await page.getByRole("menuitem", { name: "Rename…" }).click();
  const dialog = page.getByRole("dialog", { name: "Rename a.png" });
  await dialog.getByLabel("New name").fill("b.png");
  await dialog.getByRole("button", { name: "Rename" }).click();
  await expect(dialog).toContainText("'b.png' already exists there. Choose another name.");
  await expectNoSeriousA11y(page);
  await dialog.getByLabel("New name").fill("c.png");
  await dialog.getByRole("button", { name: "Rename" }).click();
  await expect(dialog).toBeHidden();
  await expect(row(page, "c.png")).toBeVisible();
  await expect(row(page, "a.png")).toHaveCount(0);

  // Multi-select, to the trash, Undo.
  await page.getByRole("checkbox", { name: "Select b.png" }).check();
  await page.getByRole("checkbox", { name: "Select b.txt" }).check();
  await page.getByRole("button", { name: "Move selected to the trash" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Moved 2 items to the trash." })).toBeVisible();
  await expect(row(page, "b.png")).toHaveCount(0);
  await page.getByRole("button", { name: "Undo" }).click();
  await expect(page.getByText("Undone: the items are back where they were.")).toBeVisible();
  await expect(row(page, "b.png")).toBeVisible();
  await expect(row(page, "b.txt")).toBeVisible();

  // Trash one again, then restore it from the Trash tab.
  await page.getByRole("button", { name: "Actions for b.png" }).click();
  await page.getByRole("menuitem", { name: "Move to the trash" }).click();
  await expect(row(page, "b.png")).toHaveCount(0);
  await page.getByRole("tab", { name: /Trash/ }).click();
  const trash = page.getByRole("table", { name: "Trashed files and folders" });
  await expect(trash).toContainText("datasets/cats/b.png");
  await expectNoSeriousA11y(page);
  await page.getByRole("button", { name: "Restore b.png to datasets/cats/b.png" }).click();
  await expect(page.getByText("Restored b.png to datasets/cats/b.png.")).toBeVisible();
  await page.getByRole("tab", { name: "Files" }).click();
  await expect(row(page, "b.png")).toBeVisible();
  expect(existsSync(join(workspace, "datasets", "cats", "b.png"))).toBe(true);

  // Download from a file's menu.
  const downloading = page.waitForEvent("download");
  await page.getByRole("button", { name: "Actions for a.txt" }).click();
  await page.getByRole("menuitem", { name: "Download" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe("a.txt");
  expect(readFileSync(await download.path(), "utf8")).toBe("a cat, sitting");

  // Back up with the breadcrumbs.
  await page.getByRole("navigation", { name: "Folder path" }).getByRole("link", { name: "datasets", exact: true }).click();
  await expect(table(page).getByRole("link", { name: "cats", exact: true })).toBeVisible();

  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto("/files/datasets/cats");
    await expect(row(page, "b.png")).toBeVisible();
    await expectNoSeriousA11y(page);
    await page.screenshot({ path: screenshotPath(`files-${scheme}.png`), fullPage: true });
  }
});

test("a ZIP with path escapes is refused in plain words; a clean ZIP becomes a dataset", async ({ page, workspace }) => {
  const local = mkdtempSync(join(tmpdir(), "lorakit-zip-"));
  makeImages(local, ["one.png", "two.png"], 7);
  makeZip(join(local, "evil.zip"), { "one.png": join(local, "one.png"), "../../escape.png": join(local, "two.png") });
  makeZip(join(local, "good.zip"), { "10_dog/one.png": join(local, "one.png"), "10_dog/one.txt": "a dog" });

  await page.goto("/files/datasets");
  await page.getByRole("button", { name: "Import a ZIP as a dataset" }).click();
  let dialog = page.getByRole("dialog", { name: "Import a ZIP as a dataset" });
  await dialog.getByLabel("ZIP file").setInputFiles(join(local, "evil.zip"));
  await expect(dialog.getByLabel("Dataset name")).toHaveValue("evil");
  await dialog.getByRole("button", { name: "Import" }).click();
  const refusal = dialog.getByRole("alert");
  await expect(refusal).toContainText("evil.zip was not imported: 1 of its entries would land outside the dataset folder");
  await expect(refusal).toContainText("'../../escape.png'");
  await expect(refusal).toContainText("What to do: Make the ZIP again from a plain folder of images");
  await expect(refusal).not.toContainText("{");
  await expectNoSeriousA11y(page);
  expect(existsSync(join(workspace, "datasets", "evil"))).toBe(false);
  await dialog.getByRole("button", { name: "Cancel" }).click();

  await page.getByRole("button", { name: "Import a ZIP as a dataset" }).click();
  dialog = page.getByRole("dialog", { name: "Import a ZIP as a dataset" });
  await dialog.getByLabel("ZIP file").setInputFiles(join(local, "good.zip"));
  await dialog.getByLabel("Dataset name").fill("dogs");
  await dialog.getByRole("button", { name: "Import" }).click();
  await expect(dialog.getByText("Imported 1 image into datasets/dogs")).toBeVisible({ timeout: 30_000 });
  expect(readFileSync(join(workspace, "datasets", "dogs", "10_dog", "one.txt"), "utf8")).toBe("a dog");
  await dialog.getByRole("link", { name: "Open datasets/dogs" }).click();
  await expect(table(page).getByRole("link", { name: "10_dog" })).toBeVisible();
});

test("files dropped onto the listing are uploaded into the folder; hidden ones are skipped and listed", async ({ page, workspace }) => {
  await page.goto("/files/outputs");
  await expect(page.getByText("This folder is empty.", { exact: false })).toBeVisible();
  // A drop as the browser makes it (the e2e project has no DOM types, so the page builds it from source text).
  const dataTransfer = await page.evaluateHandle(`(() => {
    const data = new DataTransfer();
    data.items.add(new File(["a note"], "notes.md", { type: "text/markdown" }));
    data.items.add(new File(["junk"], ".hidden-file"));
    return data;
  })()`);
  await page.getByRole("region", { name: "Contents of outputs" }).dispatchEvent("drop", { dataTransfer });
  await expect(page.getByText("Uploads finished: 1 of 1 file uploaded")).toBeVisible();
  await expect(page.getByRole("list", { name: "Skipped files" })).toContainText(".hidden-file: a hidden file");
  await expect(row(page, "notes.md")).toBeVisible();
  expect(readFileSync(join(workspace, "outputs", "notes.md"), "utf8")).toBe("a note");
});

test("a duplicate trashed by a dataset job, and a file a command-line fix set aside, are restored from the Files page", async ({
  page,
  workspace,
}) => {
  const set = join(workspace, "datasets", "dupes");
  makeImages(set, ["keep.png"], 3);
  writeFileSync(join(set, "copy.png"), readFileSync(join(set, "keep.png")));
  writeFileSync(join(set, "copy.txt"), "the copy's caption");
  writeFileSync(join(set, "broken.png"), "not an image");
  // The Datasets page trashes a duplicate through the dedup job (remove=true): the workspace's trash.
  const started = await page.request.post("/api/datasets/dupes/dedup", { data: { remove: true, threshold: 0 } });
  expect(started.status()).toBe(201);
  const jobId = (await started.json()).id as string;
  await expect
    .poll(async () => (await (await page.request.get(`/api/jobs/${jobId}`)).json()).state, { timeout: 30_000 })
    .toBe("completed");
  const trashedName = existsSync(join(set, "copy.png")) ? "keep.png" : "copy.png";
  // A health fix on the command line (lorakit dataset check --fix) puts unreadable images into the dataset's own
  // trash (datasets/dupes/.lorakit/trash); the Files page lists and restores those too.
  python(`import sys; from lorakit.data.health_fixes import apply_fix; apply_fix(sys.argv[1], "trash-unreadable")`, set);
  expect(existsSync(join(set, "broken.png"))).toBe(false);

  await page.goto("/files/datasets/dupes?view=trash");
  const trash = page.getByRole("table", { name: "Trashed files and folders" });
  await expect(trash).toContainText(`datasets/dupes/${trashedName}`);
  await expect(trash).toContainText("datasets/dupes/broken.png");
  await expect(trash).toContainText("datasets/dupes’s own trash (command-line fixes)");
  await page.getByRole("checkbox", { name: `Select ${trashedName} (trashed)` }).check();
  await page.getByRole("checkbox", { name: "Select broken.png (trashed)" }).check();
  await page.getByRole("button", { name: "Restore selected (2)" }).click();
  await expect(page.getByText("Restored 2 items.")).toBeVisible();
  expect(existsSync(join(set, trashedName))).toBe(true);
  expect(readFileSync(join(set, "broken.png"), "utf8")).toBe("not an image");
  await page.getByRole("tab", { name: "Files" }).click();
  await expect(row(page, trashedName)).toBeVisible();
  await expect(row(page, "broken.png")).toBeVisible();
});

test("emptying the trash asks first, then deletes only what the trash holds, for good", async ({ page, workspace }) => {
  const set = join(workspace, "datasets", "emptied");
  makeImages(set, ["gone.png", "kept.png"], 7);
  const trashed = await page.request.post("/api/files/delete", { data: { paths: ["datasets/emptied/gone.png"] } });
  expect(trashed.status()).toBe(200);
  const [{ id }] = (await trashed.json()) as { id: string }[];

  await page.goto("/files/datasets/emptied?view=trash");
  await expect(page.getByRole("table", { name: "Trashed files and folders" })).toContainText("datasets/emptied/gone.png");
  await page.getByRole("button", { name: "Empty the trash…" }).click();
  const dialog = page.getByRole("dialog", { name: "Empty the trash?" });
  await expect(dialog).toContainText("cannot be undone");
  await expectNoSeriousA11y(page);
  await dialog.getByRole("button", { name: "Keep them" }).click(); // nothing happens
  await expect(dialog).toHaveCount(0);
  expect(existsSync(join(workspace, "trash", "items", id))).toBe(true);

  await page.getByRole("button", { name: "Empty the trash…" }).click();
  await dialog.getByRole("button", { name: /for good$/ }).click();
  await expect(page.getByText(/^Emptied the trash: \d+ items? deleted for good\.$/)).toBeVisible();
  await expect(page.getByText("The trash is empty.")).toBeVisible();
  expect(existsSync(join(workspace, "trash", "items", id))).toBe(false);
  expect(existsSync(join(set, "kept.png"))).toBe(true);
});

test("the server going away mid-upload: the page says so, and the upload resumes from the server's offset", async ({
  page,
  server,
  workspace,
}) => {
  const local = mkdtempSync(join(tmpdir(), "lorakit-big-"));
  const size = 8 * 1024 * 1024 + 300_000; // two chunks of up to 8 MiB
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) data.writeUInt32LE((i * 2654435761) >>> 0, i);
  writeFileSync(join(local, "big.safetensors"), data);

  // Chunks that reached the server (aborted ones fire "requestfailed" instead).
  const offsets: number[] = [];
  page.on("requestfinished", (request) => {
    const url = new URL(request.url());
    if (request.method() === "POST" && url.pathname === "/api/files/upload") offsets.push(Number(url.searchParams.get("offset")));
  });
  // The server "dies" just before the second chunk: from then on every upload request is refused, as a stopped
  // server refuses connections. (Only those requests are intercepted: the first chunk's body is not copied.)
  let down = false;
  const afterFirstChunk = (url: URL) => url.pathname === "/api/files/upload" && url.searchParams.get("offset") !== "0";
  await page.route(afterFirstChunk, async (route) => {
    if (route.request().method() === "POST") down = true;
    return down ? route.abort("connectionrefused") : route.continue();
  });

  await page.goto("/files/models");
  await page.locator('input[aria-label="Files to upload"]').setInputFiles(join(local, "big.safetensors"));
  await expect(page.getByRole("alert").filter({ hasText: "The server is not answering" })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText("Paused: the server is not answering")).toBeVisible();
  // A real restart in the meantime: what arrived is on disk and survives it.
  await server.restart();
  await page.unroute(afterFirstChunk);
  await expect(page.getByText("Uploads finished: 1 of 1 file uploaded")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole("alert").filter({ hasText: "The server is not answering" })).toHaveCount(0);
  expect(offsets).toEqual([0, 8 * 1024 * 1024]); // went on from 8 MiB, never restarted
  const hash = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
  expect(hash(readFileSync(join(workspace, "models", "big.safetensors")))).toBe(hash(data));
});
