// The Datasets page against a real `lorakit serve`: a dataset of images with captions made in the temporary
// workspace, seen in the grid; a caption edited (and a stale edit's 409 resolved); a trigger word added to all
// and undone; the health check run and a fix applied; a planted duplicate found and trashed; axe; screenshots.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { expectNoSeriousA11y } from "./a11y";
import { expect, PYTHON, REPO, screenshotPath, test } from "./fixtures";

const NAME = "e2e-cats";

// Noise images (distinct perceptual hashes) and one resized copy of a.png: the planted duplicate.
const MAKE = `
import random, sys
from pathlib import Path
from PIL import Image
root = Path(sys.argv[1]); root.mkdir(parents=True, exist_ok=True)
def noise(seed, size=(128, 128)):
    rng = random.Random(seed)
    small = Image.frombytes("RGB", (16, 16), bytes(rng.randrange(256) for _ in range(16 * 16 * 3)))
    return small.resize(size, Image.NEAREST)
for i, stem in enumerate("abcd"):
    noise(i).save(root / f"{stem}.png")
noise(0).resize((120, 120), Image.BILINEAR).save(root / "a_copy.png")
captions = {"a": "cat, sitting", "b": "cat, smile", "c": "dog, outdoors", "a_copy": "cat, sitting, copy"}
for stem, text in captions.items():
    (root / f"{stem}.txt").write_text(text)
`;

test.describe.configure({ mode: "serial" });

test("a dataset: grid, caption edit with a conflict, trigger word and undo, health fix, duplicate, a11y", async ({
  page,
  workspace,
}) => {
  test.setTimeout(180_000);
  await page.setViewportSize({ width: 1440, height: 900 });
  const root = join(workspace, "datasets", NAME);
  execFileSync(PYTHON, ["-c", MAKE, root]);
  const caption = (stem: string) => readFileSync(join(root, `${stem}.txt`), "utf8");

  await page.goto("/datasets");
  await expect(page.getByRole("heading", { level: 1, name: "Datasets" })).toBeVisible();
  const list = page.getByRole("navigation", { name: "Datasets" });
  await expect(list.getByText("5 images")).toBeVisible();
  await expect(list.getByText("Not checked yet")).toBeVisible();
  await list.getByText(NAME).click();
  await expect(page).toHaveURL(new RegExp(`/datasets/${NAME}$`));

  // The grid: every image with its thumbnail and its caption under it.
  const grid = page.getByTestId("image-grid");
  for (const stem of ["a", "a_copy", "b", "c", "d"]) await expect(grid.getByRole("img", { name: `${stem}.png` })).toBeVisible();
  await expect(grid.getByRole("button", { name: /Caption of b\.png: cat, smile/ })).toBeVisible();
  await expect(grid.getByRole("button", { name: /Caption of d\.png: none/ })).toBeVisible();
  await expect
    .poll(() => grid.getByRole("img", { name: "a.png" }).evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth))
    .toBeGreaterThan(0);

  // Edit a caption in place.
  await grid.getByRole("button", { name: /Caption of b\.png/ }).click();
  const box = grid.getByRole("textbox", { name: "Caption of b.png" });
  await box.fill("cat, smile, happy");
  await grid.getByRole("button", { name: "Save" }).click();
  await expect(grid.getByRole("button", { name: /Caption of b\.png: cat, smile, happy/ })).toBeVisible();
  expect(caption("b")).toBe("cat, smile, happy");

  // A stale edit: the file changes on disk while the editor is open; both versions are shown, nothing lost.
  await grid.getByRole("button", { name: /Caption of c\.png/ }).click();
  writeFileSync(join(root, "c.txt"), "dog, outdoors, from another program");
  await grid.getByRole("textbox", { name: "Caption of c.png" }).fill("dog, running");
  await grid.getByRole("button", { name: "Save" }).click();
  const dialog = page.getByRole("dialog", { name: /changed elsewhere/ });
  await expect(dialog.getByRole("textbox", { name: /Saved version/ })).toHaveValue("dog, outdoors, from another program");
  await expect(dialog.getByRole("textbox", { name: /Your version/ })).toHaveValue("dog, running");
  expect(caption("c")).toBe("dog, outdoors, from another program");
  await dialog.getByRole("button", { name: "Save my version" }).click();
  await expect(dialog).toBeHidden();
  expect(caption("c")).toBe("dog, running");

  // The tag panel and a having-filter.
  await expect(page.getByRole("list", { name: "Tags by frequency" }).getByRole("listitem").first()).toContainText("cat3 images");
  await page.getByRole("button", { name: "Must have dog" }).click();
  await expect(grid.getByRole("img")).toHaveCount(1);
  await page.getByRole("button", { name: "Clear filter" }).click();
  await expect(grid.getByRole("img")).toHaveCount(5);

  // Bulk: the trigger word first in every caption, then Undo.
  await page.getByRole("textbox", { name: "Change" }).click();
  await page.getByRole("option", { name: "Set the trigger word" }).click();
  await page.getByRole("textbox", { name: "Trigger word" }).fill("ohwx");
  await page.getByRole("radio", { name: /All images/ }).check();
  await page.getByRole("button", { name: /^Apply to 5 images/ }).click();
  await expect(page.getByRole("status").filter({ hasText: "Set the trigger word ohwx in 5 captions" })).toBeVisible();
  await expect(grid.getByRole("button", { name: /Caption of a\.png: ohwx, cat, sitting/ })).toBeVisible();
  expect(caption("a")).toBe("ohwx, cat, sitting");
  await page.getByRole("button", { name: "Undo" }).click();
  await expect(page.getByText(/undone, every caption is as it was/)).toBeVisible();
  await expect(grid.getByRole("button", { name: /Caption of a\.png: cat, sitting\./ })).toBeVisible();
  expect(caption("a")).toBe("cat, sitting");
  expect(caption("b")).toBe("cat, smile, happy");

  // Health check (a job), then its one-click fix for the missing caption.
  await page.getByRole("tab", { name: "Health" }).click();
  await page.getByRole("button", { name: "Run health check" }).click();
  const findings = page.getByRole("region", { name: "Health findings" });
  await expect(findings.getByText(/caption/i).first()).toBeVisible({ timeout: 60_000 });
  await findings.getByRole("button", { name: "Fix: Create empty captions" }).click();
  await expect(page.getByText(/Create empty captions: Fixed 1 files/)).toBeVisible({ timeout: 60_000 });
  expect(existsSync(join(root, "d.txt"))).toBe(true);
  await expect(findings.getByRole("button", { name: "Fix: Create empty captions" })).toHaveCount(0);
  await expect(list.getByText(/Healthy|warning|problem/)).toBeVisible();

  // Duplicates (a job): the planted copy, kept original, the copy and its caption to the trash.
  await page.getByRole("tab", { name: "Duplicates" }).click();
  await page.getByRole("button", { name: "Find duplicates" }).click();
  const group = page.getByRole("group", { name: "Duplicate group 1" });
  await expect(group.getByRole("img", { name: "a_copy.png" })).toBeVisible({ timeout: 60_000 });
  await expect(group.getByRole("img", { name: "a.png" })).toBeVisible();
  await expectNoSeriousA11y(page);
  await group.getByRole("button", { name: "Keep this one: a.png" }).click();
  await expect(group.getByText(/Kept a\.png; moved 2 files to the trash/)).toBeVisible();
  expect(existsSync(join(root, "a_copy.png"))).toBe(false);
  expect(existsSync(join(root, "a_copy.txt"))).toBe(false);
  expect(existsSync(join(root, "a.png"))).toBe(true);
  await expect(grid.getByRole("img")).toHaveCount(4);
  const trash = (await (await page.request.get("/api/files/trash")).json()) as { original_path: string }[];
  expect(trash.map((t) => t.original_path)).toContain(`datasets/${NAME}/a_copy.png`);

  // The caption table view.
  await page.getByText("Caption table").click();
  const table = page.getByRole("table", { name: /Captions/ });
  await expect(table.getByRole("row").filter({ hasText: "b.png" })).toContainText("cat, smile, happy");
  await page.getByText("Grid", { exact: true }).click();

  await page.getByRole("tab", { name: "Health" }).click();
  await expectNoSeriousA11y(page);
});

// The tiny WD14-shaped tagger the Python tests build (tests/tagging/conftest.py), put in the model library.
const TAGGER = `
import sys
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from conftest import build_tagger
build_tagger(Path(sys.argv[1]))
`;

test("WD14 tagging with its settings, live to the end; images added by picking files", async ({ page, workspace }) => {
  test.setTimeout(180_000);
  await page.setViewportSize({ width: 1440, height: 900 });
  const root = join(workspace, "datasets", "e2e-tagged");
  execFileSync(PYTHON, ["-c", MAKE, root]);
  execFileSync(PYTHON, ["-c", TAGGER, join(workspace, "models", "taggers", "tiny"), join(REPO, "tests", "tagging")]);

  await page.goto("/datasets/e2e-tagged");
  const grid = page.getByTestId("image-grid");
  await expect(grid.getByRole("img")).toHaveCount(5);

  // Adding images: a picked PNG arrives in the grid; a file that is not an image is skipped and named.
  const png = readFileSync(join(root, "b.png"));
  await page.getByLabel("Images to add").setInputFiles([
    { name: "new.png", mimeType: "image/png", buffer: png },
    { name: "notes.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4") },
  ]);
  await expect(page.getByText("Added 1 of 1 files.")).toBeVisible();
  await expect(page.getByText(/Skipped: notes\.pdf \(not an image or caption\)/)).toBeVisible();
  await expect(grid.getByRole("img", { name: "new.png" })).toBeVisible();
  expect(existsSync(join(root, "new.png"))).toBe(true);

  await page.getByRole("tab", { name: "Auto-tag" }).click();
  await expect(page.getByRole("textbox", { name: "Tagger" })).toHaveValue(/tiny/);
  await page.getByRole("textbox", { name: "Tag threshold" }).fill("0.5");
  const never = page.getByRole("textbox", { name: "Tags never to write" });
  await never.fill("solo");
  await never.press("Enter");
  await page.getByRole("textbox", { name: "Images that already have a caption" }).click();
  await page.getByRole("option", { name: "Replace them" }).click();
  await page.getByRole("button", { name: "Start tagging" }).click();
  await expect(page.getByText("Captions written.", { exact: false })).toBeVisible({ timeout: 90_000 });
  const tagged = readFileSync(join(root, "a.txt"), "utf8");
  expect(tagged).toContain("1girl");
  expect(tagged).toContain("white shirt"); // 0.60 >= 0.5
  expect(tagged).not.toContain("long hair"); // 0.40 < 0.5
  expect(tagged).not.toContain("solo"); // left out on purpose
  await expect(grid.getByRole("button", { name: /Caption of a\.png: .*1girl/ })).toBeVisible();
  await expectNoSeriousA11y(page);
});

test("screenshots in both themes pass axe", async ({ page, workspace }) => {
  const root = join(workspace, "datasets", NAME);
  if (!existsSync(root)) execFileSync(PYTHON, ["-c", MAKE, root]);
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.goto(`/datasets/${NAME}`);
    await expect(page.locator("html")).toHaveAttribute("data-mantine-color-scheme", scheme);
    const grid = page.getByTestId("image-grid");
    await expect(grid.getByRole("img").first()).toBeVisible();
    await expect
      .poll(() => grid.getByRole("img").evaluateAll((imgs) => imgs.every((i) => (i as unknown as { naturalWidth: number }).naturalWidth > 0)))
      .toBe(true);
    await expectNoSeriousA11y(page);
    await page.screenshot({ path: screenshotPath(`datasets-${scheme}.png`) });
  }
});
