// The Jobs page against a real `lorakit serve`: every job with state, kind, times and result; filters; the log;
// cancel and retry; a job killed from outside while the server was down shows Interrupted.
import type { APIRequestContext } from "@playwright/test";
import { expectNoSeriousA11y } from "./a11y";
import { expect, screenshotPath, test } from "./fixtures";

async function submit(request: APIRequestContext, kind: string, title: string, params: Record<string, unknown>) {
  const response = await request.post("/api/jobs", { data: { kind, title, params } });
  expect(response.status(), await response.text()).toBe(201);
  return (await response.json()) as { id: string };
}

async function waitState(request: APIRequestContext, id: string, states: string[]) {
  await expect
    .poll(async () => ((await (await request.get(`/api/jobs/${id}`)).json()) as { state: string }).state, { timeout: 60_000 })
    .toMatch(new RegExp(`^(${states.join("|")})$`));
}

test("jobs: states in words, filters, log, cancel, retry; killed from outside shows Interrupted", async ({ page, request, server }) => {
  const done = await submit(request, "echo", "jobs-e2e echo", { hello: "world" });
  const failed = await submit(request, "fail", "jobs-e2e fail", { message: "It broke on purpose." });
  await waitState(request, done.id, ["completed"]);
  await waitState(request, failed.id, ["failed"]);
  const long = await submit(request, "sleep", "jobs-e2e sleep", { steps: 500, seconds: 300 });
  await waitState(request, long.id, ["running"]);

  await page.emulateMedia({ reducedMotion: "reduce" });
  await page.goto("/jobs");
  const table = page.getByRole("table", { name: "Jobs" });
  const row = (title: string) => table.getByRole("row").filter({ hasText: title });
  await expect(row("jobs-e2e echo")).toContainText("Done");
  await expect(row("jobs-e2e fail")).toContainText("Failed");
  await expect(row("jobs-e2e fail")).toContainText("It broke on purpose.");
  await expect(row("jobs-e2e sleep")).toContainText("Running");

  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme, reducedMotion: "reduce" });
    await expect(page.locator("html")).toHaveAttribute("data-mantine-color-scheme", scheme);
    await expectNoSeriousA11y(page);
    await page.screenshot({ path: screenshotPath(`jobs-${scheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: "light", reducedMotion: "reduce" });

  // The log of the failed job, in words, with what to do.
  await row("jobs-e2e fail").getByRole("button", { name: "Show the log of jobs-e2e fail" }).click();
  const log = page.getByRole("log", { name: "Log of jobs-e2e fail" });
  await expect(log).toContainText("It broke on purpose.");
  await expectNoSeriousA11y(page);

  // Filters: by state (kept in the address) and by name.
  await page.goto("/jobs?state=failed");
  await expect(row("jobs-e2e fail")).toBeVisible();
  await expect(row("jobs-e2e echo")).toHaveCount(0);
  await page.goto("/jobs");
  await page.getByLabel("Name contains").fill("jobs-e2e ech");
  await expect(row("jobs-e2e echo")).toBeVisible();
  await expect(row("jobs-e2e fail")).toHaveCount(0);
  await page.getByLabel("Name contains").fill("");

  // Cancel the running one; retry the finished one.
  await row("jobs-e2e sleep").getByRole("button", { name: "Cancel jobs-e2e sleep" }).click();
  await expect(row("jobs-e2e sleep")).toContainText("Cancelled", { timeout: 30_000 });
  await row("jobs-e2e echo").first().getByRole("button", { name: "Retry jobs-e2e echo" }).click();
  await expect(row("jobs-e2e echo")).toHaveCount(2);

  // Killed from outside while the server was down: Interrupted, in words.
  const victim = await submit(request, "sleep", "jobs-e2e victim", { steps: 500, seconds: 300 });
  await waitState(request, victim.id, ["running"]);
  const { pid } = (await (await request.get(`/api/jobs/${victim.id}`)).json()) as { pid: number };
  await server.restart(async () => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      process.kill(pid, "SIGKILL");
    }
  });
  await page.reload();
  await expect(row("jobs-e2e victim")).toContainText("Interrupted", { timeout: 30_000 });
  // A sleep job saved no state: it can be retried, not resumed.
  await expect(row("jobs-e2e victim").getByRole("button", { name: "Retry jobs-e2e victim" })).toBeVisible();
  await expect(row("jobs-e2e victim").getByRole("button", { name: "Resume jobs-e2e victim" })).toHaveCount(0);
});
