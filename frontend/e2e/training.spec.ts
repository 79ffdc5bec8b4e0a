// The Training page against a real `lorakit serve`: a config from the tiny-demo preset, an invalid value shown
// at its field with its fix, fixed, then a run started on the built-in tiny model; TOML round trip; axe; screenshots.
import { cpSync, existsSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { expectNoSeriousA11y } from "./a11y";
import { expect, REPO, screenshotPath, test } from "./fixtures";

/** The sample dataset shipped with lorakit, copied into this test's own dataset folder. */
function sampleDataset(workspace: string, name: string): string {
  const target = join(workspace, "datasets", name, "10_kitbot");
  if (!existsSync(target)) cpSync(join(REPO, "src", "lorakit", "sample_data", "10_kitbot"), target, { recursive: true });
  return `datasets/${name}/10_kitbot`;
}

test.describe.configure({ timeout: 360_000 });

const field = (page: Page, path: string) => page.locator(`#setting-${path.replace(/[^A-Za-z0-9_-]/g, "-")}`);

/** The tiny-demo preset, picked after seeing what it changes, with the sample images as its dataset. */
async function tinyDemo(page: Page, workspace: string, dataset: string) {
  await page.goto("/training");
  await page.evaluate("window.localStorage.clear()");
  await page.reload();
  await page.getByLabel("Start from a preset").selectOption({ label: "Tiny demo (CPU, seconds)" });
  const changes = page.getByRole("list", { name: "What the preset changes" });
  await expect(changes).toContainText("network.dim: 16 → 4");
  await page.getByRole("button", { name: "Use this preset" }).click();
  await expect(field(page, "network.dim")).toHaveValue("4");
  await page.getByRole("button", { name: "Add to subsets" }).click();
  await field(page, "dataset.subsets[0].image_dir").fill(sampleDataset(workspace, dataset));
}

test("a config from the tiny-demo preset: an invalid value, its fix, then a run", async ({ page, workspace }) => {
  await tinyDemo(page, workspace, "e2e-train-run");
  const start = page.getByRole("button", { name: "Start training" });
  await expect(page.getByText("Ready to start")).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId("plan-steps")).toHaveText(/\d+ steps/);
  await expect(page.getByRole("table", { name: "Buckets" })).toContainText("64×64");

  // An invalid rank: the server's problem and fix at the field, and Start says why it cannot start.
  await field(page, "network.dim").fill("0");
  await expect(field(page, "network.dim")).toHaveAttribute("aria-invalid", "true");
  await expect(page.locator('[data-setting="network.dim"]')).toContainText("is too small");
  await expect(page.locator('[data-setting="network.dim"]')).toContainText("What to do: Use 1 or more.");
  await expect(start).toHaveAttribute("aria-disabled", "true");
  await expect(page.locator("#start-why")).toContainText("Fix the problem");
  await start.focus(); // still focusable (aria-disabled), so its reason can be read; pressing it moves to the problem
  await page.keyboard.press("Enter");
  await expect(field(page, "network.dim")).toBeFocused();
  await expect(page).toHaveURL(/\/training$/);

  await field(page, "network.dim").fill("4");
  await expect(page.getByText("Ready to start")).toBeVisible({ timeout: 20_000 });
  await expect(start).toHaveAttribute("aria-disabled", "false");
  await start.click();
  await expect(page).toHaveURL(/\/runs\/[A-Za-z0-9_-]+$/, { timeout: 20_000 });

  // The run monitor of the run just started: its loss chart gets points; Stop ends it (it saves first), so the
  // rest of this worker's specs do not wait behind it for the training slot.
  const points = page.getByTestId("loss-points");
  await expect.poll(async () => Number(await points.getAttribute("data-points")), { timeout: 240_000 }).toBeGreaterThan(0);
  await page.getByRole("button", { name: "Stop", exact: true }).click();
  await expect(page.getByText("Stopped", { exact: true })).toBeVisible({ timeout: 240_000 });
});

test("the TOML view round-trips with the form, and sd-scripts files download", async ({ page, workspace }) => {
  await tinyDemo(page, workspace, "e2e-train-toml");
  await page.getByRole("tab", { name: "TOML" }).click();
  const toml = page.getByLabel("Config as TOML");
  await expect(toml).toHaveValue(/\[network\][^[]*dim = 4/);
  await toml.fill((await toml.inputValue()).replace(/(\[network\][^[]*?)dim = 4/, "$1dim = 12"));
  await page.getByRole("button", { name: "Apply to the form" }).click();
  await expect(toml).toHaveValue(/\[network\][^[]*dim = 12/);
  await page.getByRole("tab", { name: "Form" }).click();
  await expect(field(page, "network.dim")).toHaveValue("12");

  await page.getByRole("tab", { name: "sd-scripts" }).click();
  await page.getByRole("button", { name: "Make the sd-scripts files" }).click();
  const downloads: string[] = [];
  page.on("download", (d) => downloads.push(d.suggestedFilename()));
  const both = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download both files" }).click();
  await both;
  await expect.poll(() => downloads.sort()).toEqual(["config.toml", "dataset.toml"]);
});

test("no serious accessibility problem, light and dark; screenshots for the docs", async ({ page, workspace }) => {
  await tinyDemo(page, workspace, "e2e-train-look");
  await expect(page.getByText("Ready to start")).toBeVisible({ timeout: 20_000 });
  await page.getByRole("button", { name: /^Learning/ }).click();
  // One tall window rather than a full-page capture: the shell's header and the sticky plan stay in place.
  await page.setViewportSize({ width: 1440, height: 2200 });
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme, reducedMotion: "reduce" });
    await expect(page.locator("html")).toHaveAttribute("data-mantine-color-scheme", scheme);
    await expect(page.getByTestId("plan-steps")).toBeVisible();
    await expectNoSeriousA11y(page);
    await page.evaluate("window.scrollTo(0, 0)");
    await page.screenshot({ path: screenshotPath(`training-${scheme}.png`) });
  }
});
