// A real `lorakit serve` on a free loopback port over a fresh temporary workspace, one per test file.
import { test as base, expect } from "@playwright/test";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Where a page's screenshot goes: `docs/images/` when LORAKIT_SCREENSHOTS=1 (refreshing the docs' pictures),
 * else `test-results/screenshots/`, so an ordinary test run still renders them but leaves the checkout unchanged. */
export function screenshotPath(name: string): string {
  return process.env.LORAKIT_SCREENSHOTS === "1"
    ? join(REPO, "docs", "images", name)
    : join(REPO, "frontend", "test-results", "screenshots", name);
}
export const PYTHON = process.env.LORAKIT_PYTHON || join(REPO, ".venv", "bin", "python");

export interface LorakitServer {
  /** http://127.0.0.1:<port> */
  baseURL: string;
  /** The workspace folder the server uses (absolute; create files in it to set a test up). */
  workspace: string;
  /** The access token the server requires, or null. */
  token: string | null;
  port: number;
  /** Stop the server (the workspace stays) and start it again on the same port; `whileDown` runs in between. */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface ServeOptions {
  token?: string | null;
  workspace?: string;
  port?: number;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function waitForHealth(baseURL: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`lorakit serve exited (${child.exitCode}):\n${output()}`);
    try {
      const response = await fetch(`${baseURL}/api/health`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`lorakit serve did not answer within 60 s:\n${output()}`);
}

/** Start `python -m lorakit.cli.main serve` and wait until /api/health answers. */
export async function startServer(options: ServeOptions = {}): Promise<LorakitServer> {
  if (!existsSync(PYTHON)) throw new Error(`No Python at ${PYTHON}: set LORAKIT_PYTHON or run scripts/setup.sh.`);
  const workspace = options.workspace ?? mkdtempSync(join(tmpdir(), "lorakit-e2e-"));
  const ownWorkspace = options.workspace === undefined;
  const home = mkdtempSync(join(tmpdir(), "lorakit-e2e-home-"));
  const token = options.token ?? null;
  const port = options.port ?? (await freePort());
  const baseURL = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let log = "";

  const launch = async () => {
    log = "";
    const args = ["-m", "lorakit.cli.main", "serve", "--host", "127.0.0.1", "--port", String(port), "--workspace", workspace];
    args.push(...(token ? ["--token", token] : ["--no-token"]));
    // A home of its own: tokens a spec saves never reach the user's ~/.config/lorakit.
    const env: NodeJS.ProcessEnv = { LORAKIT_HOME: home, ...process.env, LORAKIT_WORKSPACE: workspace };
    delete env.LORAKIT_SERVER_TOKEN;
    // The repository's sources first (a worktree tests its own code), then whatever PYTHONPATH was set.
    env.PYTHONPATH = [join(REPO, "src"), process.env.PYTHONPATH].filter(Boolean).join(delimiter);
    child = spawn(PYTHON, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (chunk) => (log += chunk));
    child.stderr?.on("data", (chunk) => (log += chunk));
    await waitForHealth(baseURL, child, () => log);
  };

  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((done) => {
      const timer = setTimeout(() => running.kill("SIGKILL"), 10_000);
      running.once("exit", () => {
        clearTimeout(timer);
        done();
      });
      running.kill("SIGTERM");
    });
  };

  await launch();
  return {
    baseURL,
    workspace,
    token,
    port,
    restart: async (whileDown?: () => Promise<void>) => {
      await stop();
      try {
        await whileDown?.();
      } finally {
        await launch();
      }
    },
    stop: async () => {
      await stop();
      if (ownWorkspace) rmSync(workspace, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** `test` with a worker-scoped `server` (no token) and `baseURL` pointing at it. */
export const test = base.extend<{ workspace: string }, { server: LorakitServer }>({
  server: [
    // eslint-disable-next-line no-empty-pattern -- Playwright needs the destructuring even when unused
    async ({}, use) => {
      const server = await startServer();
      await use(server);
      await server.stop();
    },
    { scope: "worker", timeout: 90_000 },
  ],
  baseURL: async ({ server }, use) => use(server.baseURL),
  workspace: async ({ server }, use) => use(server.workspace),
});

export { expect };
