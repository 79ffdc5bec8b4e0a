// The Models page against a real `lorakit serve` whose download sources are loopback servers
// (tests/web/model_servers.py: a plain file server and a Civitai look-alike, from tests/models/servers.py).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { createInterface } from "node:readline";
import type { Page } from "@playwright/test";
import { expectNoSeriousA11y } from "./a11y";
import { expect, type LorakitServer, PYTHON, REPO, screenshotPath, startServer, test as base } from "./fixtures";

interface Sources {
  files: { lora: string; size: number; release: string };
  civitai: { api: string; private_link: string };
}

function startSources(): Promise<{ sources: Sources; child: ChildProcess }> {
  const child = spawn(PYTHON, [join(REPO, "tests", "web", "model_servers.py")], {
    env: { ...process.env, PYTHONPATH: [REPO, join(REPO, "src"), process.env.PYTHONPATH].filter(Boolean).join(delimiter) },
    stdio: ["pipe", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", (line) => resolve({ sources: JSON.parse(line) as Sources, child }));
    child.once("exit", (code) => reject(new Error(`the loopback model servers exited (${code})`)));
  });
}

// `server` is the shared fixture's `lorakit serve`, started with the test hooks the Python tests use:
// LORAKIT_CIVITAI_URL points Civitai links at the loopback Civitai, and LORAKIT_HOME keeps the tokens
// saved through the page in a temporary folder (never the user's own ~/.config/lorakit).
const test = base.extend<object, { sources: Sources; server: LorakitServer }>({
  sources: [
    // eslint-disable-next-line no-empty-pattern -- Playwright needs the destructuring even when unused
    async ({}, use) => {
      const { sources, child } = await startSources();
      await use(sources);
      child.stdin?.end();
      child.kill();
    },
    { scope: "worker" },
  ],
  server: [
    async ({ sources }, use) => {
      const home = mkdtempSync(join(tmpdir(), "lorakit-e2e-home-"));
      const saved = { ...process.env };
      process.env.LORAKIT_CIVITAI_URL = sources.civitai.api;
      process.env.LORAKIT_HOME = home;
      for (const name of ["CIVITAI_TOKEN", "CIVITAI_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"]) delete process.env[name];
      let server: LorakitServer;
      try {
        server = await startServer();
      } finally {
        process.env = saved;
      }
      await use(server);
      await server.stop();
      rmSync(home, { recursive: true, force: true });
    },
    { scope: "worker", timeout: 90_000 },
  ],
});

test.describe.configure({ mode: "serial" });

async function paste(page: Page, link: string) {
  await page.getByRole("textbox", { name: "Link to a model" }).fill(link);
  await page.getByRole("button", { name: "Download", exact: true }).click();
}

test("a download from a link shows live progress, pauses, resumes, and lands in the library with its family", async ({
  page,
  sources,
}) => {
  await page.goto("/models");
  await expect(page.getByRole("heading", { level: 1, name: "Models" })).toBeVisible();
  const loras = page.getByRole("region", { name: /^LoRAs/ });
  await expect(loras).toContainText("No LoRAs yet.");

  await paste(page, sources.files.lora);
  await expect(page.getByRole("status").filter({ hasText: "Started: The file e2e-style-lora.safetensors" })).toBeVisible();
  // The loopback server holds the file after its first MiB: the download is visibly under way.
  const item = page.getByRole("listitem", { name: /Downloading: .*e2e-style-lora/ });
  await expect(item.getByRole("progressbar")).toBeVisible();
  await expect(item).toContainText(/of 3\.4 MB · \d+%/);

  // Pause: the job has the command once the request is answered; the downloader hears it as soon as
  // data flows again (it looks at most every 0.2 s, and the hold has lasted longer than that).
  const sent = page.waitForResponse((r) => r.url().includes("/command") && r.request().method() === "POST");
  await item.getByRole("button", { name: "Pause" }).click();
  expect((await sent).ok()).toBe(true);
  await page.request.get(sources.files.release);
  const paused = page.getByRole("listitem", { name: /Paused: .*e2e-style-lora/ });
  await expect(paused).toContainText("What arrived so far is kept");
  await paused.getByRole("button", { name: "Resume" }).click();

  const done = page.getByRole("listitem", { name: /Finished: .*e2e-style-lora/ });
  await expect(done).toContainText("Saved as models/loras/e2e-style-lora.safetensors (SDXL LoRA, family SDXL, 3.4 MB).", {
    timeout: 30_000,
  });
  const row = loras.getByRole("row", { name: /e2e-style-lora\.safetensors/ });
  await expect(row).toContainText("SDXL LoRA, rank 8, alpha 4");
  await expect(row).toContainText("For SDXL");
  await expect(row).toContainText("fp16");
  await expect(row).toContainText("3.4 MB");
  await expect(page.getByRole("region", { name: /^Checkpoints/ })).toContainText("No checkpoints yet.");
});

test("a link lorakit cannot use is refused in plain words before anything starts", async ({ page }) => {
  await page.goto("/models");
  const input = page.getByRole("textbox", { name: "Link to a model" });
  await input.fill("http://example.com/model.safetensors");
  await page.getByRole("button", { name: "Download", exact: true }).click();
  await expect(input).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText(/plain http:\/\/ link: it is not encrypted/)).toBeVisible();
});

test("a private Civitai file without a token says so; the fix leads to the token panel, then it downloads", async ({
  page,
  sources,
}) => {
  await page.goto("/models");
  await paste(page, sources.civitai.private_link);
  const failed = page.getByRole("listitem", { name: /Failed: .*civitai\.com\/models\/7/ });
  const alert = failed.getByRole("alert");
  await expect(alert).toContainText("Civitai needs your access token for this file");
  await expect(alert).toContainText("Civitai refused to send private-lora.safetensors without a token.");
  await expect(alert).toContainText("add your Civitai token under Access tokens");
  await expect(alert.getByRole("link", { name: "civitai.com/user/account" })).toHaveAttribute(
    "href",
    "https://civitai.com/user/account",
  );
  await expectNoSeriousA11y(page); // with the shell's note that the job failed on screen too

  await alert.getByRole("button", { name: "Set the Civitai token" }).click();
  const input = page.getByLabel("Civitai token", { exact: true });
  await expect(input).toBeFocused();
  const secret = "civitai-secret-token-1234";
  await input.fill(secret);
  await page.getByRole("button", { name: "Save Civitai token" }).click();
  const panel = page.getByRole("region", { name: "Civitai" });
  await expect(panel).toContainText("Set: …1234 (saved by lorakit)");
  await expect(page.getByLabel("New Civitai token")).toHaveValue("");
  expect(await page.content()).not.toContain(secret);

  await failed.getByRole("button", { name: "Resume" }).click();
  await expect(page.getByRole("listitem", { name: /Finished: .*civitai\.com\/models\/7/ })).toContainText(
    "Saved as models/loras/private-lora.safetensors",
    { timeout: 30_000 },
  );
  await expect(page.getByRole("region", { name: /^LoRAs/ }).getByRole("row", { name: /private-lora/ })).toContainText(
    "For SDXL",
  );
});

test("no serious accessibility problem, light and dark; screenshots for the docs", async ({ page }) => {
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme, reducedMotion: "reduce" });
    await page.goto("/models");
    await expect(page.locator("html")).toHaveAttribute("data-mantine-color-scheme", scheme);
    await expect(page.getByRole("region", { name: /^LoRAs/ }).getByRole("row", { name: /e2e-style-lora/ })).toBeVisible();
    await expectNoSeriousA11y(page);
    await page.screenshot({ path: screenshotPath(`models-${scheme}.png`), fullPage: true });
  }
});
