import { expectNoSeriousA11y } from "./a11y";
import { expect, type LorakitServer, startServer, test } from "./fixtures";

const TOKEN = "e2e-token-0123456789abcdef";
let guarded: LorakitServer;

test.beforeAll(async () => {
  guarded = await startServer({ token: TOKEN });
});
test.afterAll(async () => {
  await guarded?.stop();
});

test("a server with a token: the app asks for it, refuses a wrong one, then opens with the right one", async ({ page }) => {
  await page.goto(`${guarded.baseURL}/datasets`);
  await expect(page.getByRole("heading", { level: 1, name: "This server needs its access token" })).toBeVisible();
  await expectNoSeriousA11y(page);

  await page.getByLabel("Access token").fill("not-the-token");
  await page.getByRole("button", { name: "Open lorakit" }).click();
  await expect(page.getByRole("alert")).toContainText("That token was not accepted");

  await page.getByLabel("Access token").fill(TOKEN);
  await page.getByRole("button", { name: "Open lorakit" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Datasets" })).toBeVisible();
  expect(page.url()).toBe(`${guarded.baseURL}/datasets`); // the token left the address bar
  await expect(page.getByRole("button", { name: "Jobs: No jobs running" })).toBeVisible(); // the API answers
});

test("the printed link (?token=) opens the app directly", async ({ page }) => {
  await page.goto(`${guarded.baseURL}/models?token=${TOKEN}`);
  await expect(page.getByRole("heading", { level: 1, name: "Models" })).toBeVisible();
  expect(page.url()).toBe(`${guarded.baseURL}/models`);
});
