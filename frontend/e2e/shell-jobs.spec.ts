import { expectNoSeriousA11y } from "./a11y";
import { expect, test } from "./fixtures";

async function startSleepJob(request: import("@playwright/test").APIRequestContext, title: string, seconds: number) {
  const response = await request.post("/api/jobs", {
    data: { kind: "sleep", title, params: { steps: 200, seconds } },
  });
  expect(response.status()).toBe(201);
  return (await response.json()) as { id: string };
}

function stepsDone(text: string | null): number {
  const match = /(\d+) \/ 200 steps/.exec(text ?? "");
  return match ? Number(match[1]) : -1;
}

test("the job tray shows a running job live and cancels it", async ({ page, request }) => {
  await page.goto("/files");
  await startSleepJob(request, "Sleep for the tray", 120);
  const tray = page.getByRole("button", { name: /^Jobs: \d+ running, \d+ waiting/ });
  await expect(tray).toBeVisible();
  await tray.click();
  const row = page.getByRole("group", { name: "Sleep for the tray" });
  await expect(row).toContainText("Running");
  await expect(row).toContainText(/\d+ \/ 200 steps/);
  const first = stepsDone(await row.textContent());
  await expect.poll(async () => stepsDone(await row.textContent())).toBeGreaterThan(first);
  await expectNoSeriousA11y(page);
  await row.getByRole("button", { name: "Cancel Sleep for the tray" }).click();
  // The job ends: it leaves the tray and a note says how it ended, in words.
  await expect(page.getByText("Sleep for the tray: Cancelled")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole("button", { name: "Jobs: No jobs running" })).toBeVisible();
  await expectNoSeriousA11y(page); // the note included
});

test("while the server is away the page says so; when it is back the tray reconnects and progress goes on", async ({ page, request, server }) => {
  await page.goto("/jobs");
  const job = await startSleepJob(request, "Sleep across a restart", 60);
  await page.getByRole("button", { name: /^Jobs: \d+ running, \d+ waiting/ }).click();
  const row = page.getByRole("group", { name: "Sleep across a restart" });
  await expect(row).toContainText(/\d+ \/ 200 steps/);

  await server.restart(async () => {
    // While the server is away, the page says so, in words.
    await expect(page.getByText("Reconnecting to the server…")).toBeVisible({ timeout: 20_000 });
  });
  const before = stepsDone(await row.textContent());
  // The page recovers by itself: no reload.
  await expect.poll(async () => stepsDone(await row.textContent()), { timeout: 30_000 }).toBeGreaterThan(before);
  await expect(page.getByText("Reconnecting to the server…")).toHaveCount(0);
  const cancelled = await request.post(`/api/jobs/${job.id}/cancel`);
  expect(cancelled.ok()).toBe(true);
});
