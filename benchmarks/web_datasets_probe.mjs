// Drives Debian's Chromium through playwright-core (from frontend/node_modules) over the Datasets page and
// prints one JSON line: time to the first thumbnails after navigation (with when each request of the way there
// started and ended), and long tasks while scrolling the whole grid: their wall time (Performance API
// 'longtask') and their CPU time on the page's main thread (Chrome trace, 'toplevel' RunTask's thread
// duration), which a busy machine inflates far less. Started by benchmarks/bench_web_datasets.py, which makes
// the dataset and runs the server.
//   node benchmarks/web_datasets_probe.mjs URL [--runs 2] [--scroll 0]
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "frontend", "package.json"));
const { chromium } = require("playwright-core");

const url = process.argv[2];
const arg = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const runs = Number(arg("--runs", 2));
const scrollGrid = arg("--scroll", "1") !== "0";
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

/** The main-thread tasks of the page's renderer in a Chrome trace: wall and CPU (thread) time, in ms. */
function rendererTasks(trace) {
  const events = JSON.parse(trace.toString("utf8")).traceEvents ?? [];
  const mains = new Set(
    events.filter((e) => e.ph === "M" && e.name === "thread_name" && e.args?.name === "CrRendererMain").map((e) => `${e.pid}:${e.tid}`),
  );
  const byThread = new Map();
  for (const e of events) {
    const key = `${e.pid}:${e.tid}`;
    if (e.ph !== "X" || !mains.has(key) || !/RunTask$/.test(e.name) || typeof e.dur !== "number") continue;
    if (!byThread.has(key)) byThread.set(key, []);
    byThread.get(key).push({ wall: e.dur / 1000, cpu: (e.tdur ?? e.dur) / 1000 });
  }
  // The page's renderer is the busiest one (a spare renderer may exist too).
  return [...byThread.values()].sort((a, b) => b.length - a.length)[0] ?? [];
}

/** When the requests on the way to the first thumbnail started and ended (ms after navigation start). */
function waterfall() {
  const nav = performance.getEntriesByType("navigation")[0];
  const rows = [["document", nav.startTime, nav.responseEnd]];
  for (const r of performance.getEntriesByType("resource")) {
    const url = new URL(r.name);
    const name = url.pathname.startsWith("/assets/") ? url.pathname.slice(8) : url.pathname + url.search;
    rows.push([name.slice(0, 60), r.startTime, r.responseEnd]);
  }
  rows.push(["first thumbnail loaded", window.__firstThumb, window.__firstThumb]);
  return rows
    .filter((r) => r[1] <= window.__firstThumb + 1)
    .sort((a, b) => a[1] - b[1])
    .slice(0, 24)
    .map(([n, a, b]) => `${Math.round(a)}-${Math.round(b)} ${n}`);
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
    const requests = await page.evaluate(waterfall);
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
    if (scrollGrid) await browser.startTracing(page, { categories: ["toplevel"] });
    const scroll = !scrollGrid ? {} : await page.evaluate(async (sel) => {
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
        longest_task_ms: tasks.length ? tasks.reduce((a, b) => Math.max(a, b), 0) : 0,
        long_tasks: tasks.length,
        long_tasks_over_50ms: tasks.filter((d) => d > 50).length,
      };
    }, GRID);
    if (scrollGrid) {
      const tasks = rendererTasks(await browser.stopTracing());
      const cpu = tasks.map((t) => t.cpu);
      scroll.longest_task_cpu_ms = cpu.length ? cpu.reduce((a, b) => Math.max(a, b), 0) : 0;
      scroll.tasks_over_50ms_cpu = cpu.filter((d) => d > 50).length;
      scroll.main_thread_cpu_s = cpu.reduce((a, b) => a + b, 0) / 1000;
    }
    results.push({
      run: run === 0 ? "first visit (thumbnails made on demand)" : "again (thumbnails cached)",
      first_thumbnail_ms: Math.round(firstThumbMs),
      first_screen_loaded_ms: Math.round(firstScreenMs),
      first_screen_images: firstScreenImages,
      load_longest_task_ms: loadTasks.length ? Math.round(loadTasks.reduce((a, b) => Math.max(a, b), 0)) : 0,
      ...Object.fromEntries(Object.entries(scroll).map(([k, v]) => [k, Math.round(v * 10) / 10])),
      requests,
    });
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ bench: "web_datasets", results }));
