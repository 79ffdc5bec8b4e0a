// The Utilities page against a real `lorakit serve`: a real LoRA for the built-in tiny SD1 model (written by
// tests/web/lora_files.py the way training writes one) is inspected, resized by a job, and the written file
// is found in Files; a file that is no LoRA gives the server's plain error.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { expectNoSeriousA11y } from "./a11y";
import { expect, PYTHON, REPO, screenshotPath, test as base } from "./fixtures";

// Unique names: the server is shared with the other spec files of this worker.
const LORA = "models/loras/e2e-util-mira.safetensors";
const BROKEN = "models/loras/e2e-util-broken.safetensors";
const RESIZED = "models/loras/e2e-util-mira-r2.safetensors";

const test = base.extend<object, { loras: { lora: string; broken: string } }>({
  loras: [
    async ({ server }, use) => {
      mkdirSync(join(server.workspace, "models", "loras"), { recursive: true });
      execFileSync(PYTHON, [join(REPO, "tests", "web", "lora_files.py"), join(server.workspace, LORA), "--rank", "8"], {
        env: { ...process.env, PYTHONPATH: [join(REPO, "src"), process.env.PYTHONPATH].filter(Boolean).join(delimiter) },
        stdio: ["ignore", "ignore", "inherit"],
        timeout: 120_000,
      });
      writeFileSync(join(server.workspace, BROKEN), "this is not a safetensors file");
      await use({ lora: LORA, broken: BROKEN });
    },
    { scope: "worker", timeout: 150_000 },
  ],
});

test.describe.configure({ timeout: 180_000 });

test("pick a LoRA in the workspace and inspect it: metadata, tags with counts, per-block charts", async ({ page, loras }) => {
  await page.goto("/utilities");
  await expect(page.getByRole("heading", { level: 1, name: "Utilities" })).toBeVisible();
  await page.getByRole("button", { name: "Browse for lora file" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByRole("button", { name: "Choose e2e-util-mira.safetensors" }).click();
  await expect(page.getByRole("textbox", { name: "LoRA file" })).toHaveValue(loras.lora);
  await page.getByRole("button", { name: "Inspect", exact: true }).click();
  await expect(page).toHaveURL(/lora=models%2Floras%2Fe2e-util-mira.safetensors/);
  const what = page.getByRole("table", { name: "What it is" });
  await expect(what.getByRole("row", { name: /Base model/ })).toContainText("SD 1.x");
  await expect(what.getByRole("row", { name: /Ranks/ })).toContainText("8 (90 modules)");
  const tags = page.getByRole("table", { name: "Tags used in training" });
  await expect(tags.getByRole("row", { name: /red hair/ })).toContainText("9");
  await expect(page.getByRole("img", { name: /^Rank per block: \d+ blocks/ })).toBeVisible();
  await expect(page.getByRole("img", { name: /^Strength per block: \d+ blocks; the highest is/ })).toBeVisible();
});

test("resize it as a job and find the written file in Files", async ({ page, loras, workspace }) => {
  await page.goto(`/utilities?tool=resize&lora=${encodeURIComponent(loras.lora)}`);
  await expect(page.getByRole("textbox", { name: "LoRA to resize" })).toHaveValue(loras.lora);
  await page.getByRole("textbox", { name: "Rank", exact: true }).fill("2");
  await page.getByRole("textbox", { name: "Save as" }).fill(RESIZED);
  await page.getByRole("button", { name: "Resize", exact: true }).click();
  const job = page.getByRole("region", { name: /^Resize models\/loras\/e2e-util-mira.safetensors: / });
  await expect(job).toHaveAccessibleName(/: Done$/, { timeout: 120_000 });
  await expect(job.getByRole("table", { name: "Energy report" })).toContainText("Average rank now2.0");
  expect(existsSync(join(workspace, RESIZED))).toBe(true);
  await expectNoSeriousA11y(page); // the job's panel with its result

  await job.getByRole("link", { name: "Show in Files" }).click();
  await expect(page).toHaveURL(/\/files\/models\/loras$/);
  await expect(page.getByRole("link", { name: "e2e-util-mira-r2.safetensors", exact: true }).or(page.getByText("e2e-util-mira-r2.safetensors", { exact: true })).first()).toBeVisible();

  await page.goto(`/utilities?lora=${encodeURIComponent(RESIZED)}`);
  await expect(page.getByRole("table", { name: "What it is" }).getByRole("row", { name: /Ranks/ })).toContainText("2 (90 modules)");
});

test("a file that is no LoRA gives the server's plain error", async ({ page, loras }) => {
  await page.goto(`/utilities?lora=${encodeURIComponent(loras.broken)}`);
  const alert = page.getByRole("alert");
  await expect(alert).toContainText("This LoRA cannot be read");
  await expect(alert).toContainText("What to do:");
  await expect(alert).not.toContainText("{");
  await expect(alert).not.toContainText("Traceback");
});

test("no serious accessibility problem, light and dark; screenshots for the docs", async ({ page, loras }) => {
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme, reducedMotion: "reduce" });
    await page.goto(`/utilities?lora=${encodeURIComponent(loras.lora)}`);
    await expect(page.locator("html")).toHaveAttribute("data-mantine-color-scheme", scheme);
    await expect(page.getByRole("table", { name: "Tags used in training" })).toBeVisible();
    await expectNoSeriousA11y(page);
    await page.screenshot({ path: screenshotPath(`utilities-${scheme}.png`), fullPage: true });
  }
  await page.goto(`/utilities?tool=upload&lora=${encodeURIComponent(loras.lora)}`);
  await page.getByRole("textbox", { name: "Repository" }).fill("someone/e2e-util-mira");
  await page.getByRole("button", { name: "Preview the model card" }).click();
  await expect(page.getByRole("textbox", { name: "Model card (README.md)" })).toHaveValue(/instance_prompt: "mira"/);
  await expectNoSeriousA11y(page);
});
