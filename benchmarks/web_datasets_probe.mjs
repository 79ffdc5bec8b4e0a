// Drives Debian's Chromium through playwright-core (from frontend/node_modules) over the Datasets page and
// prints one JSON line: time to the first thumbnails after navigation, and long tasks while scrolling the
// whole grid. Started by benchmarks/bench_web_datasets.py, which makes the dataset and runs the server.
//   node benchmarks/web_datasets_probe.mjs URL [--runs 2]
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "frontend", "package.json"));
const { chromium } = require("playwright-core");

const url = process.argv[2];
const runs = Number(process.argv[process.argv.indexOf("--runs") + 1] || 2);
const GRID = '[data-testid="image-grid"]';

function observe() {
  window.__longtasks = [];
  window.__firstThumb = null;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longtasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: "longtask", buffered: true });
  document.addEventListener(
    "load",
    (event) => {
      const t = event.target;
      if (window.__firstThumb === null && t instanceof HTMLImageElement && t.closest('[data-testid="image-grid"]')) {
        window.__firstThumb = performance.now();
      }
    },
    true,
  );
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
const results = [];
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await page.addInitScript(observe);
  for (let run = 0; run < runs; run++) {
    await page.goto(url, { waitUntil: "commit" });
    await page.waitForFunction(() => window.__firstThumb !== null, null, { timeout: 120_000, polling: 5 });
    const firstThumbMs = await page.evaluate(() => window.__firstThumb);
    await page.waitForFunction(
      (sel) => {
        const imgs = [...document.querySelectorAll(`${sel} img`)];
        return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
      },
      GRID,
      { timeout: 120_000, polling: 10 },
    );
    const firstScreenMs = await page.evaluate(() => performance.now());
    const firstScreenImages = await page.locator(`${GRID} img`).count();
    // Every caption page loaded (the status stops saying "Still loading").
    await page.waitForFunction(() => !document.body.textContent.includes("Still loading captions"), null, { timeout: 300_000 });
    const loadTasks = await page.evaluate(() => window.__longtasks.map((t) => t.duration));
    const scroll = await page.evaluate(async (sel) => {
      const el = document.querySelector(sel);
      window.__longtasks = [];
      const start = performance.now();
      let frames = 0;
      let worstFrame = 0;
      let last = start;
      await new Promise((resolve) => {
        const tick = (now) => {
          frames += 1;
          worstFrame = Math.max(worstFrame, now - last);
          last = now;
          el.scrollTop += Math.round(el.clientHeight / 2);
          if (el.scrollTop + el.clientHeight >= el.scrollHeight - 2) resolve();
          else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      });
      await new Promise((r) => setTimeout(r, 300)); // let the last long-task entries arrive
      const tasks = window.__longtasks.map((t) => t.duration);
      return {
        scroll_s: (performance.now() - start) / 1000,
        frames,
        worst_frame_ms: worstFrame,
        scroll_height_px: el.scrollHeight,
        longest_task_ms: tasks.length ? Math.max(...tasks) : 0,
        long_tasks: tasks.length,
        long_tasks_over_50ms: tasks.filter((d) => d > 50).length,
      };
    }, GRID);
    results.push({
      run: run === 0 ? "first visit (thumbnails made on demand)" : "again (thumbnails cached)",
      first_thumbnail_ms: Math.round(firstThumbMs),
      first_screen_loaded_ms: Math.round(firstScreenMs),
      first_screen_images: firstScreenImages,
      load_longest_task_ms: loadTasks.length ? Math.round(Math.max(...loadTasks)) : 0,
      ...Object.fromEntries(Object.entries(scroll).map(([k, v]) => [k, Math.round(v * 10) / 10])),
    });
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ bench: "web_datasets", results }));
