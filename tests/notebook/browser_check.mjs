// Drives a notebook in JupyterLab through Chromium (playwright-core, never a downloaded browser).
// Usage: node browser_check.mjs URL MODE SCREENSHOT
//   MODE "trainer": run all cells, change the LoRA rank in the settings widget, save, start training and
//   wait until the loss chart shows and the job completes. MODE "maker": run all cells, wait for the panels.
// Prints one JSON line of what it saw; exits non-zero on failure.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const searched = [path.join(here, "..", "..", "frontend", "node_modules"), ...(process.env.NODE_PATH || "").split(path.delimiter).filter(Boolean)];
const { chromium } = require(require.resolve("playwright-core", { paths: searched }));

const [url, mode, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
const seen = {};
const at = (step) => { seen.step = step; console.error(new Date().toISOString(), step); };
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 2400 } });
  page.setDefaultTimeout(180_000);
  at("open");
  await page.goto(url);
  await page.waitForFunction(() => window.jupyterapp && document.querySelector(".jp-Notebook"));
  await page.waitForFunction(() => {
    const panel = window.jupyterapp.shell.currentWidget;
    return panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
  });
  at("run all cells");
  await page.evaluate(() => window.jupyterapp.commands.execute("notebook:run-all-cells"));
  if (mode === "maker") {
    await page.locator(".widget-tab").first().waitFor();
    await page.waitForFunction(() => document.querySelectorAll(".widget-tab").length >= 5);
    seen.tabs = await page.locator(".widget-tab").count();
  } else {
    at("wait for the settings widget");
    const save = page.locator("button", { hasText: "Save config" });
    await save.waitFor();
    await page.locator("button", { hasText: "Start training" }).waitFor();
    const dim = page.locator(".widget-inline-hbox:has(> label:text-is('dim')) input");
    at("change dim");
    await dim.fill("8");
    await dim.press("Enter");
    await save.click();
    await page.locator("text=Saved configs/").first().waitFor();
    seen.saved = true;
    at("start training");
    await page.locator("button", { hasText: "Start training" }).click();
    await page.locator("img.lorakit-loss-chart[src^='blob:']").first().waitFor({ timeout: 600_000 });
    seen.chart = true;
    at("wait for completion");
    await page.locator("text=/Job [0-9a-f]+ completed/").first().waitFor({ timeout: 600_000 });
    seen.completed = true;
  }
  await page.waitForTimeout(500);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  delete seen.step;
  console.log(JSON.stringify({ ok: true, ...seen }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error), ...seen }));
  if (screenshot) await browser.contexts()[0]?.pages()[0]?.screenshot({ path: screenshot + ".failed.png", fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
