import { expectNoSeriousA11y } from "./a11y";
import { expect, screenshotPath, test } from "./fixtures";

const PAGES = ["Files", "Datasets", "Training", "Jobs", "Models", "Utilities"];

test("the shell loads, every page is reachable from the navigation, no serious a11y violation", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/files$/);
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const name of PAGES) {
    await nav.getByRole("link", { name: new RegExp(`^${name}`) }).click();
    await expect(page).toHaveURL(new RegExp(`/${name.toLowerCase()}$`));
    await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
    await expectNoSeriousA11y(page);
  }
});

test("an app route loads directly (index.html for client routes) and unknown pages say so", async ({ page }) => {
  await page.goto("/models");
  await expect(page.getByRole("heading", { level: 1, name: "Models" })).toBeVisible();
  await page.goto("/no-such-page");
  await expect(page.getByRole("alert")).toContainText("There is no page at this address.");
});

test("the theme follows the system and the toggle switches it; screenshots for the docs", async ({ page }) => {
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto("/files");
    await expect(page.locator("html")).toHaveAttribute("data-mantine-color-scheme", scheme);
    await expect(page.getByRole("heading", { level: 1, name: "Files" })).toBeVisible();
    await expectNoSeriousA11y(page);
    await page.screenshot({ path: screenshotPath(`shell-${scheme}.png`) });
  }
  const other = "light";
  await page.getByRole("button", { name: `Use the ${other} theme` }).click();
  await expect(page.locator("html")).toHaveAttribute("data-mantine-color-scheme", other);
  await expectNoSeriousA11y(page);
});

test("keyboard: the skip link leads to the page and the navigation works with the keyboard", async ({ page }) => {
  await page.goto("/files");
  await expect(page.getByRole("heading", { level: 1, name: "Files" })).toBeVisible();
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to the page" });
  await expect(skip).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.locator("#main")).toBeFocused();
  await page.getByRole("link", { name: /^Jobs/ }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1, name: "Jobs" })).toBeVisible();
  // ? lists the shortcuts; g then a page's first letter opens it.
  await page.keyboard.press("?");
  const help = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await expect(help).toContainText("Go to Models");
  await expectNoSeriousA11y(page);
  await page.keyboard.press("Escape");
  await expect(help).toBeHidden();
  await page.keyboard.press("g");
  await page.keyboard.press("m");
  await expect(page.getByRole("heading", { level: 1, name: "Models" })).toBeVisible();
});
