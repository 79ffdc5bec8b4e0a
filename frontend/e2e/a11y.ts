import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

/** Fail when axe finds a serious or critical accessibility violation on the page as it is now. */
export async function expectNoSeriousA11y(page: Page, options: { exclude?: string[] } = {}): Promise<void> {
  // Axe reads colours as they are painted: an element mid-fade (a notification sliding in) measures as low
  // contrast. Let finite transitions finish first; endless ones (spinners) are not waited for.
  await page
    .waitForFunction(
      'document.getAnimations().every((a) => a.playState !== "running" || a.effect?.getTiming().iterations === Infinity)',
      undefined,
      { timeout: 5_000 },
    )
    .catch(() => undefined);
  let builder = new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]);
  for (const selector of options.exclude ?? []) builder = builder.exclude(selector);
  const results = await builder.analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const report = serious.map(
    (v) => `${v.impact}: ${v.id} (${v.help})\n` + v.nodes.map((n) => `   ${n.target.join(" ")}: ${n.failureSummary}`).join("\n"),
  );
  expect(report, `accessibility violations:\n${report.join("\n")}`).toEqual([]);
}
