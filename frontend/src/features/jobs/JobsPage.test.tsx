import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Job, JobEvent } from "@/api/jobs";
import { JobsSocketProvider } from "@/api/jobsSocketContext";
import { fakeJobsSocket } from "@/test/fakeSocket";
import { json, mockFetch, route } from "@/test/fetchMock";
import { renderWithProviders } from "@/test/render";
import { filterJobs } from "./format";
import JobsPage from "./Page";

const job = (over: Partial<Job>): Job => ({
  id: "x", kind: "train", title: "", params: {}, state: "completed", gpu: false, created_at: 1_700_000_000,
  started_at: 1_700_000_000, finished_at: 1_700_000_095, pid: null, pid_started: null, run_dir: null, error: null,
  result: null, cancel_requested: false, retry_of: null, resume_of: null, resumable: false, ...over,
});

const JOBS = [
  job({ id: "run1", title: "Cat LoRA", state: "running", finished_at: null }),
  job({ id: "int1", title: "Dog LoRA", state: "interrupted", resumable: true }),
  job({ id: "tag1", kind: "tag", title: "Tag cats", state: "failed", error: { message: "No tagger model.", fix: "Download one." } }),
  job({ id: "imp1", kind: "import", title: "Import", state: "completed", result: { imported: 12 } }),
];
const EVENTS: JobEvent[] = [
  { seq: 1, type: "status", data: { state: "queued", message: "Waiting to start." }, time: 1_700_000_000 },
  { seq: 2, type: "error", data: { message: "No tagger model.", fix: "Download one." }, time: 1_700_000_001 },
];
let posted: string[] = [];

function serve() {
  return mockFetch(
    route("GET", "/api/jobs", () => json(JOBS)),
    route("GET", /^\/api\/jobs\/\w+\/events$/, () => json(EVENTS)),
    route("POST", /^\/api\/jobs\/\w+\/(cancel|retry|resume)$/, (request) => {
      posted.push(new URL(request.url).pathname);
      return json(job({ id: "new1", state: "queued" }), 201);
    }),
  );
}

function show(route = "/jobs") {
  const fake = fakeJobsSocket();
  const view = renderWithProviders(
    <JobsSocketProvider socket={fake.socket}>
      <JobsPage />
    </JobsSocketProvider>,
    { route },
  );
  act(() => fake.last().open());
  return { fake, ...view };
}

beforeEach(() => {
  posted = [];
  serve();
});
afterEach(() => vi.unstubAllGlobals());

describe("Jobs page", () => {
  it("lists every job with state in words, kind, duration and result; training jobs link to their monitor", async () => {
    show();
    const table = await screen.findByRole("table", { name: "Jobs" });
    await within(table).findByText("Dog LoRA");
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(4);
    expect(within(rows[0]!).getByRole("link", { name: "Cat LoRA" })).toHaveAttribute("href", "/runs/run1");
    expect(rows[1]).toHaveTextContent("Interrupted");
    expect(rows[2]).toHaveTextContent("Failed");
    expect(rows[2]).toHaveTextContent("No tagger model.");
    expect(rows[3]).toHaveTextContent("1 min 35 s");
    expect(rows[3]).toHaveTextContent("imported: 12");
  });

  it("offers Cancel while running, Resume for an interrupted run, Retry when finished; they call the API", async () => {
    show();
    expect(await screen.findByRole("button", { name: "Cancel Cat LoRA" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Retry Cat LoRA" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Resume Tag cats" })).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Cancel Cat LoRA" }));
    await userEvent.click(screen.getByRole("button", { name: "Retry Tag cats" }));
    await userEvent.click(screen.getByRole("button", { name: "Resume Dog LoRA" }));
    await waitFor(() =>
      expect(posted).toEqual(["/api/jobs/run1/cancel", "/api/jobs/tag1/retry", "/api/jobs/int1/resume"]),
    );
  });

  it("filters by state (kept in the address) and by name", async () => {
    show("/jobs?state=failed&state=interrupted");
    const table = await screen.findByRole("table", { name: "Jobs" });
    await waitFor(() => expect(within(table).getAllByRole("row")).toHaveLength(3));
    expect(screen.getByText("2 of 4 jobs")).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Name contains"), "dog");
    expect(within(table).getAllByRole("row")).toHaveLength(2);
    expect(within(table).getByText("Dog LoRA")).toBeInTheDocument();
  });

  it("shows a job's events as a readable log with the problem and what to do", async () => {
    show();
    await userEvent.click(await screen.findByRole("button", { name: "Show the log of Tag cats" }));
    const log = await screen.findByRole("log", { name: "Log of Tag cats" });
    await waitFor(() => expect(log).toHaveTextContent("Waiting to start."));
    expect(log).toHaveTextContent("Error");
    expect(log).toHaveTextContent("No tagger model. What to do: Download one.");
  });
});

describe("filterJobs", () => {
  it("combines state, kind and text", () => {
    expect(filterJobs(JOBS, { states: [], kind: "train", text: "" }).map((j) => j.id)).toEqual(["run1", "int1"]);
    expect(filterJobs(JOBS, { states: ["completed"], kind: null, text: "" }).map((j) => j.id)).toEqual(["imp1"]);
    expect(filterJobs(JOBS, { states: [], kind: null, text: "CAT" }).map((j) => j.id)).toEqual(["run1", "tag1"]);
  });
});
