import { defineConfig } from "@playwright/test";

// Debian's Chromium, never a downloaded browser (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 at install).
const chromium = process.env.LORAKIT_CHROMIUM ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "./e2e",
  testMatch: "**/*.spec.ts",
  // Each test file starts its own `lorakit serve`; two at a time keeps a small machine responsive.
  workers: process.env.CI ? 2 : 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: process.env.CI ? [["list"], ["html", { open: "never" }]] : "list",
  use: {
    browserName: "chromium",
    launchOptions: { executablePath: chromium, args: ["--headless=new", "--no-sandbox"] },
    trace: "retain-on-failure",
  },
});
