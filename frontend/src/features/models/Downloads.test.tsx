import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { JobsSocketProvider } from "@/api/jobsSocketContext";
import { fakeJobsSocket } from "@/test/fakeSocket";
import { renderWithProviders } from "@/test/render";
import type { Job } from "./api";
import { Downloads } from "./Downloads";
import { tokenInputId } from "./focus";

const calls: { method: string; path: string; options?: unknown }[] = [];
let jobs: Job[] = [];

vi.mock("@/api/client", async (importActual) => {
  const actual = await importActual<typeof import("@/api/client")>();
  const answer = (data: unknown) => Promise.resolve({ data, response: new Response() });
  const api = {
    GET: (path: string, options?: unknown) => {
      calls.push({ method: "GET", path, options });
      if (path === "/api/jobs") return answer(jobs);
      if (path === "/api/models") return answer([]);
      throw new Error(`unexpected GET ${path}`);
    },
    POST: (path: string, options?: unknown) => {
      calls.push({ method: "POST", path, options });
      return answer({ ...jobs[0], id: "new", state: "queued" });
    },
  };
  return { ...actual, api };
});

function job(overrides: Partial<Job>): Job {
  return {
    id: "j1",
    kind: "download",
    title: "Download",
    params: { link: "https://civitai.com/models/7?modelVersionId=70" },
    state: "running",
    gpu: false,
    created_at: 1,
    started_at: 1,
    finished_at: null,
    pid: null,
    pid_started: null,
    run_dir: null,
    error: null,
    result: null,
    cancel_requested: false,
    retry_of: null,
    resume_of: null,
    resumable: false,
    ...overrides,
  };
}

beforeEach(() => {
  calls.length = 0;
});

describe("Downloads", () => {
  it("shows a running download's progress live from /ws, in words and as a bar, with Pause", async () => {
    jobs = [job({})];
    const fake = fakeJobsSocket();
    renderWithProviders(
      <JobsSocketProvider socket={fake.socket}>
        <Downloads />
      </JobsSocketProvider>,
    );
    act(() => fake.last().open());
    const item = await screen.findByRole("listitem", { name: /^Downloading: https:\/\/civitai\.com/ });
    await waitFor(() => expect(fake.last().sent).toContainEqual({ op: "subscribe", job_id: "j1", since: 0 }));
    const progress = { done: 1_000_000, total: 3_436_256, unit: "B", rate: 2e6, eta_s: 1.2, file: "a.safetensors" };
    act(() =>
      fake.last().deliver([
        { type: "event", job_id: "j1", event: { seq: 1, type: "status", data: { state: "running" }, time: 0 } },
        { type: "event", job_id: "j1", event: { seq: 2, type: "progress", data: progress, time: 0 } },
      ]),
    );
    expect(await within(item).findByText("1.0 MB of 3.4 MB · 29% · 2.0 MB/s · about 1 s left")).toBeInTheDocument();
    expect(within(item).getByRole("progressbar")).toHaveAttribute("aria-valuenow", String((1_000_000 / 3_436_256) * 100));
    await userEvent.click(within(item).getByRole("button", { name: "Pause" }));
    expect(calls).toContainEqual({
      method: "POST",
      path: "/api/jobs/{job_id}/command",
      options: { params: { path: { job_id: "j1" } }, body: { command: "stop" } },
    });
  });

  it("turns a missing Civitai token into a fix on this page: the token field, then Resume", async () => {
    jobs = [
      job({
        state: "failed",
        error: {
          code: "token_required",
          field: "civitai",
          message: "Civitai refused to send private.safetensors without a token.",
          fix: "this model needs a Civitai token: set it with `lorakit models token civitai`",
        },
      }),
    ];
    renderWithProviders(
      <JobsSocketProvider socket={fakeJobsSocket().socket}>
        <Downloads />
        <label htmlFor={tokenInputId("civitai")}>Civitai token</label>
        <input id={tokenInputId("civitai")} />
      </JobsSocketProvider>,
    );
    const item = await screen.findByRole("listitem", { name: /^Failed:/ });
    const alert = within(item).getByRole("alert");
    expect(alert).toHaveTextContent("Civitai needs your access token for this file");
    expect(alert).toHaveTextContent("Civitai refused to send private.safetensors without a token.");
    expect(alert).toHaveTextContent("What to do: add your Civitai token under Access tokens");
    expect(alert).not.toHaveTextContent("lorakit models token"); // the CLI's fix is not this page's
    expect(within(alert).getByRole("link", { name: "civitai.com/user/account" })).toHaveAttribute(
      "href",
      "https://civitai.com/user/account",
    );
    await userEvent.click(within(alert).getByRole("button", { name: "Set the Civitai token" }));
    expect(screen.getByLabelText("Civitai token")).toHaveFocus();

    await userEvent.click(within(item).getByRole("button", { name: "Resume" }));
    expect(calls).toContainEqual({ method: "POST", path: "/api/jobs/{job_id}/retry", options: { params: { path: { job_id: "j1" } } } });
  });

  it("for a gated Hugging Face model, says to accept its licence as well as to add the token", async () => {
    jobs = [
      job({
        state: "failed",
        params: { link: "https://huggingface.co/org/gated" },
        error: { code: "token_required", field: "huggingface", message: "org/gated is a gated model: Hugging Face needs you to accept its licence first.", fix: "…" },
      }),
    ];
    renderWithProviders(
      <JobsSocketProvider socket={fakeJobsSocket().socket}>
        <Downloads />
      </JobsSocketProvider>,
    );
    const alert = within(await screen.findByRole("listitem", { name: /^Failed:/ })).getByRole("alert");
    expect(alert).toHaveTextContent("Hugging Face needs your access token for this file");
    expect(alert).toHaveTextContent("accept its licence if it asks; then add your Hugging Face token under Access tokens");
    expect(within(alert).getByRole("link", { name: "huggingface.co/settings/tokens" })).toBeInTheDocument();
    expect(within(alert).getByRole("button", { name: "Set the Hugging Face token" })).toBeInTheDocument();
  });

  it("shows other failures with the server's words, and a resumed download only as its newest try", async () => {
    jobs = [
      job({ id: "j2", state: "failed", retry_of: "j1", error: { code: "download", message: "The server has no file at this link (a.safetensors, HTTP 404).", fix: "Check the link." } }),
      job({ id: "j1", state: "stopped" }),
    ];
    renderWithProviders(
      <JobsSocketProvider socket={fakeJobsSocket().socket}>
        <Downloads />
      </JobsSocketProvider>,
    );
    const item = await screen.findByRole("listitem", { name: /^Failed:/ });
    expect(within(item).getByRole("alert")).toHaveTextContent("HTTP 404).What to do: Check the link.");
    expect(screen.getAllByRole("listitem")).toHaveLength(1);
  });
});
