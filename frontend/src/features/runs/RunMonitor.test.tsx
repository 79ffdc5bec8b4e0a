import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Job, JobEvent } from "@/api/jobs";
import { JobsSocketProvider } from "@/api/jobsSocketContext";
import { fakeJobsSocket } from "@/test/fakeSocket";
import { json, mockFetch, route } from "@/test/fetchMock";
import { renderWithProviders } from "@/test/render";
import { RunMonitor } from "./Page";

// uPlot draws on a canvas, which jsdom lacks: a stand-in records what each chart was given.
const charts = vi.hoisted(() => [] as { el: HTMLElement; data: unknown[][] }[]);
vi.mock("uplot", async (importActual) => {
  const actual = (await importActual<{ default: { join: unknown } }>()).default;
  class FakePlot {
    width = 600;
    data: unknown[][];
    el: HTMLElement;
    static join = actual.join;
    constructor(_options: unknown, data: unknown[][], el: HTMLElement) {
      this.data = data;
      this.el = el;
      charts.push(this);
    }
    setData(data: unknown[][]) {
      this.data = data;
    }
    batch(fn: () => void) {
      fn();
    }
    setSize() {}
    destroy() {
      charts.splice(charts.indexOf(this), 1);
    }
  }
  return { default: FakePlot };
});

const job = (over: Partial<Job> = {}): Job => ({
  id: "j1", kind: "train", title: "My run", params: {}, state: "running", gpu: true, created_at: 1, started_at: 1,
  finished_at: null, pid: 1, pid_started: 1, run_dir: "outputs/r", error: null, result: null, cancel_requested: false,
  retry_of: null, resume_of: null, resumable: false, ...over,
});
const step = (seq: number, s: number): JobEvent => ({
  seq, type: "step", time: seq,
  data: { step: s, total_steps: 100, epoch: 1, loss: 1 + s / 100, avg_loss: 1, lr: { unet: 1e-3 }, it_s: 2, eta_s: 30 },
});

let serverEvents: JobEvent[] = [];
let theJob = job();
let posts: { path: string; body: unknown }[] = [];

function serve() {
  return mockFetch(
    route("GET", "/api/jobs/j1/events", (request) => {
      const since = Number(new URL(request.url).searchParams.get("since") ?? 0);
      return json(serverEvents.filter((e) => e.seq > since));
    }),
    route("GET", "/api/jobs/j1", () => json(theJob)),
    route("GET", "/api/jobs", () => json([theJob])),
    route("POST", /^\/api\/jobs\/j1\/(command|resume|cancel)$/, (request) => {
      posts.push({ path: new URL(request.url).pathname, body: null });
      return json(request.url.endsWith("resume") ? job({ id: "j2", resume_of: "j1", state: "queued" }) : theJob, 200);
    }),
  );
}

/** The x values (steps) the loss chart holds now. */
const lossSteps = () => {
  const chart = charts.find((c) => c.el.getAttribute("data-chart") === "loss");
  return (chart?.data[0] ?? []) as number[];
};

function show(fake = fakeJobsSocket()) {
  const view = renderWithProviders(
    <JobsSocketProvider socket={fake.socket}>
      <RunMonitor jobId="j1" />
    </JobsSocketProvider>,
  );
  act(() => fake.last().open());
  return { fake, ...view };
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

beforeEach(() => {
  serverEvents = range(1, 5).map((s) => step(s, s));
  theJob = job();
  posts = [];
});
afterEach(() => vi.unstubAllGlobals());

describe("run monitor: chart data across history, live events and reconnects", () => {
  it("loads the history, then live events; overlaps and a reconnect's replay add no point twice and lose none", async () => {
    const fetch = serve();
    const { fake } = show();
    await waitFor(() => expect(lossSteps()).toEqual(range(1, 5)));
    // Subscribed from the last event the history gave.
    await waitFor(() => expect(fake.last().sent).toContainEqual({ op: "subscribe", job_id: "j1", since: 5 }));
    // Live: an overlap with the history (4, 5) and new steps.
    serverEvents.push(step(6, 6), step(7, 7));
    act(() => fake.last().deliver([4, 5, 6, 7].map((seq) => ({ type: "event", job_id: "j1", event: step(seq, seq) }))));
    await waitFor(() => expect(lossSteps()).toEqual(range(1, 7)));
    // The connection drops; meanwhile the run goes on.
    act(() => fake.last().drop());
    serverEvents.push(...range(8, 12).map((s) => step(s, s)));
    act(() => fake.runTimers());
    act(() => fake.last().open());
    expect(fake.last().sent).toContainEqual({ op: "subscribe", job_id: "j1", since: 7 });
    // The server replays from 7, overlapping what the page fetched after reconnecting.
    act(() => fake.last().deliver(range(6, 12).map((seq) => ({ type: "event", job_id: "j1", event: step(seq, seq) }))));
    await waitFor(() => expect(lossSteps()).toEqual(range(1, 12)));
    expect(screen.getByTestId("loss-points")).toHaveAttribute("data-points", "12");
    expect(fetch.calls.some((r) => r.url.includes("/events") && r.url.includes("since=7"))).toBe(true);
  });

  it("an event that skips ahead fetches the missing ones from the history", async () => {
    serve();
    const { fake } = show();
    await waitFor(() => expect(lossSteps()).toEqual(range(1, 5)));
    // 6..8 happened while this listener was not yet attached (e.g. the tray's subscription got them).
    serverEvents.push(...range(6, 9).map((s) => step(s, s)));
    act(() => fake.last().deliver({ type: "event", job_id: "j1", event: step(9, 9) }));
    await waitFor(() => expect(lossSteps()).toEqual(range(1, 9)));
  });

  it("a reload mid-run shows the whole curve again, each step once", async () => {
    serve();
    const first = show();
    await waitFor(() => expect(lossSteps()).toEqual(range(1, 5)));
    first.unmount();
    serverEvents.push(...range(6, 20).map((s) => step(s, s)));
    show();
    await waitFor(() => expect(lossSteps()).toEqual(range(1, 20)));
  });
});

describe("run monitor: progress, samples, files, commands", () => {
  it("shows progress in words, samples by step with their prompts (full size on click), and the LoRA with a Utilities link", async () => {
    serverEvents.push(
      { seq: 6, type: "epoch", data: { epoch: 2, total_epochs: 10, avg_loss: 1.1 }, time: 6 },
      { seq: 7, type: "sample", data: { path: "outputs/r/samples/r_000005_00.png", prompt: "zxq dot", step: 5 }, time: 7 },
      { seq: 8, type: "checkpoint", data: { path: "outputs/r/r-000005.safetensors", step: 5, epoch: 2, kind: "lora" }, time: 8 },
    );
    serve();
    show();
    expect(await screen.findByText("5 / 100")).toBeInTheDocument();
    expect(screen.getByText("2 / 10")).toBeInTheDocument();
    expect(screen.getByText("2.00 it/s")).toBeInTheDocument();
    expect(screen.getByText("30 s left")).toBeInTheDocument();
    const samples = screen.getByRole("region", { name: "Samples at step 5" });
    expect(within(samples).getByText("zxq dot")).toBeInTheDocument();
    expect(within(samples).getByRole("img", { name: "zxq dot" })).toHaveAttribute("src", "/api/jobs/j1/samples/r_000005_00.png");
    await userEvent.click(within(samples).getByRole("button", { name: /full size/ }));
    const dialog = await screen.findByRole("dialog", { name: "Sample at step 5" });
    expect(within(dialog).getByRole("img", { name: "zxq dot" })).toBeInTheDocument();
    await userEvent.keyboard("{Escape}");
    const link = screen.getByRole("link", { name: "Open in Utilities" });
    expect(link).toHaveAttribute("href", "/utilities?lora=outputs%2Fr%2Fr-000005.safetensors");
    expect(screen.getByRole("log", { name: "Run log" })).toHaveTextContent("Epoch 2 of 10 done");
  });

  it("Stop, Save now and Sample now send the job commands", async () => {
    const fetch = serve();
    show();
    for (const [label, command] of [
      ["Save now", "save"],
      ["Sample now", "sample"],
      ["Stop", "stop"],
    ] as const) {
      await userEvent.click(await screen.findByRole("button", { name: label }));
      await waitFor(() => expect(posts.length).toBeGreaterThan(0));
      const request = fetch.calls.filter((r) => r.method === "POST").pop()!;
      expect(new URL(request.url).pathname).toBe("/api/jobs/j1/command");
      expect(await request.clone().json()).toEqual({ command });
      posts = [];
    }
  });

  it("an interrupted run says so and offers Resume, which starts the resumed job and opens its monitor", async () => {
    theJob = job({ state: "interrupted", resumable: true, pid: null });
    serve();
    const { router } = show();
    expect(await screen.findByText("Interrupted")).toBeInTheDocument();
    expect(screen.getByText(/This run was interrupted/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Stop" })).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Resume" }));
    await waitFor(() => expect(posts.map((p) => p.path)).toEqual(["/api/jobs/j1/resume"]));
    await waitFor(() => expect(router.state.location.pathname).toBe("/runs/j2"));
  });
});
