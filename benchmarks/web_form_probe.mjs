// Drives Debian's Chromium through playwright-core (from frontend/node_modules) over the Training page and prints
// one JSON line: how long the schema form takes to render every setting (all sections opened at once, until the
// next frame is painted), measured in the page with performance.now(), and the same for a reference: as many
// plain labelled <input>s written as HTML. Started by benchmarks/bench_web_form.py, which runs `lorakit serve`.
//   node benchmarks/web_form_probe.mjs URL SETTINGS [--runs 7]
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "frontend", "package.json"));
const { chromium } = require("playwright-core");

const url = process.argv[2];
const settings = Number(process.argv[3]);
const runs = Number(process.argv[process.argv.indexOf("--runs") + 1] || 7);

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
const out = { settings, form_ms: [], react_ms: [], reference_ms: [], first_paint_ms: null };
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await page.goto(url, { waitUntil: "commit" });
  await page.getByRole("button", { name: "Open all sections" }).waitFor({ timeout: 120_000 });
  out.first_paint_ms = await page.evaluate(() => performance.now());
  for (let run = 0; run < runs; run++) {
    await page.getByRole("button", { name: "Close all sections" }).click();
    await page.waitForFunction((n) => document.querySelectorAll("[data-setting]").length < n, settings);
    const ms = await page.evaluate(async (n) => {
      const button = [...document.querySelectorAll("button")].find((b) => b.textContent === "Open all sections");
      const start = performance.now();
      button.click();
      await Promise.resolve(); // React flushes a click's update in a microtask queued during the click
      const react = document.querySelectorAll("[data-setting]").length >= n ? performance.now() - start : null;
      // Until every setting is in the document, then until the frame after it has been painted.
      await new Promise((resolve) => {
        const check = () => (document.querySelectorAll("[data-setting]").length >= n ? resolve() : requestAnimationFrame(check));
        check();
      });
      await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
      return [performance.now() - start, react];
    }, settings);
    out.form_ms.push(Math.round(ms[0] * 10) / 10);
    if (ms[1] !== null) out.react_ms.push(Math.round(ms[1] * 10) / 10);
    const reference = await page.evaluate(async (n) => {
      const holder = document.createElement("div");
      document.body.append(holder);
      const start = performance.now();
      holder.innerHTML = Array.from(
        { length: n },
        (_, i) => `<div><label for="ref${i}">Setting ${i}</label><p>Help for setting ${i}.</p><input id="ref${i}" value="${i}"></div>`,
      ).join("");
      holder.getBoundingClientRect();
      await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
      const ms = performance.now() - start;
      holder.remove();
      return ms;
    }, settings);
    out.reference_ms.push(Math.round(reference * 10) / 10);
  }
  const count = await page.locator("[data-setting]").count();
  if (count < settings) throw new Error(`only ${count} of ${settings} settings rendered`);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
