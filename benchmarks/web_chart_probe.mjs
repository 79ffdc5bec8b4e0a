// Drives Debian's Chromium through playwright-core (from frontend/node_modules) over a run monitor whose loss
// chart holds many points and prints one JSON line: the time until the whole curve is drawn, and the duration of
// each redraw on new (live) data, from the `lk-chart:loss` Performance API measures the chart records.
// Started by benchmarks/bench_web_chart.py, which makes the run's events and runs the server.
//   node benchmarks/web_chart_probe.mjs URL [--points 100000] [--seconds 10]
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "frontend", "package.json"));
const { chromium } = require("playwright-core");

const url = process.argv[2];
const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const points = arg("--points", 100_000);
const seconds = arg("--seconds", 10);

function observe() {
  window.__longtasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longtasks.push(e.duration);
  }).observe({ type: "longtask", buffered: true });
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const round = (x) => Math.round(x * 100) / 100;

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await page.addInitScript(observe);
  await page.goto(url, { waitUntil: "commit" });
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="loss-points"]')?.getAttribute("data-points") ?? 0) >= n,
    points,
    { timeout: 300_000, polling: 50 },
  );
  const first = await page.evaluate(() => performance.now());
  const atStart = await page.evaluate(() => Number(document.querySelector('[data-testid="loss-points"]').getAttribute("data-points")));
  // From here on every redraw is one on new data arriving live.
  await page.evaluate(() => {
    performance.clearMeasures("lk-chart:loss");
    window.__longtasks = [];
  });
  await page.waitForTimeout(seconds * 1000);
  const { measures, tasks, atEnd } = await page.evaluate(() => ({
    measures: performance.getEntriesByName("lk-chart:loss", "measure").map((m) => m.duration),
    tasks: window.__longtasks,
    atEnd: Number(document.querySelector('[data-testid="loss-points"]').getAttribute("data-points")),
  }));
  if (measures.length === 0) throw new Error("no redraw was measured: did live events reach the page?");
  const sorted = [...measures].sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      points_at_start: atStart,
      points_at_end: atEnd,
      first_full_chart_ms: round(first),
      redraws: measures.length,
      redraw_median_ms: round(quantile(sorted, 0.5)),
      redraw_p95_ms: round(quantile(sorted, 0.95)),
      redraw_max_ms: round(sorted[sorted.length - 1]),
      longest_task_ms: round(Math.max(0, ...tasks)),
    }),
  );
} finally {
  await browser.close();
}
