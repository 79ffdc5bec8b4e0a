import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { JobsSocketProvider } from "@/api/jobsSocketContext";
import { useShortcutHelp } from "@/hooks/shortcuts";
import { fakeJobsSocket } from "@/test/fakeSocket";
import { json, mockFetch, route } from "@/test/fetchMock";
import { renderWithProviders } from "@/test/render";
import { JobTray } from "./JobTray";
import { Layout } from "./Layout";
import { TokenGate } from "./TokenGate";
import { TokenPage, tokenLink } from "./TokenPage";

const runningJob = {
  id: "job1",
  kind: "sleep",
  state: "running",
  title: "Import cats",
  created_at: 1,
  cancel_requested: false,
};

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("the shell", () => {
  it("has a skip link, the main navigation, the job tray and a labelled theme toggle", async () => {
    mockFetch(route("GET", "/api/jobs", () => json([])));
    const { socket } = fakeJobsSocket();
    renderWithProviders(
      <JobsSocketProvider socket={socket}>
        <Layout />
      </JobsSocketProvider>,
      { route: "/files" },
    );
    expect(screen.getByRole("link", { name: "Skip to the page" })).toHaveAttribute("href", "#main");
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect(within(nav).getAllByRole("link")).toHaveLength(6);
    expect(screen.getByRole("button", { name: /^Use the (dark|light) theme$/ })).toBeInTheDocument();
    expect(await screen.findByRole("button", { name: /Jobs: No jobs running/ })).toBeInTheDocument();
  });
});

describe("keyboard shortcuts", () => {
  it("? lists the shortcuts, including a page's own, and g then a letter opens a page", async () => {
    mockFetch(route("GET", "/api/jobs", () => json([])));
    const { socket } = fakeJobsSocket();
    function PageWithShortcuts() {
      useShortcutHelp("Datasets", [{ keys: ["e"], description: "Edit the selected caption" }]);
      return null;
    }
    const { router } = renderWithProviders(
      <JobsSocketProvider socket={socket}>
        <Layout />
        <PageWithShortcuts />
      </JobsSocketProvider>,
      { route: "/files" },
    );
    await userEvent.keyboard("?");
    const dialog = await screen.findByRole("dialog", { name: "Keyboard shortcuts" });
    expect(dialog).toHaveTextContent("Go to Datasets");
    expect(dialog).toHaveTextContent("Edit the selected caption");
    await userEvent.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    await userEvent.keyboard("gm");
    expect(router.state.location.pathname).toBe("/models");
  });
});

describe("JobTray", () => {
  it("shows running jobs with live progress from the socket, and cancels one", async () => {
    const { calls } = mockFetch(
      route("GET", "/api/jobs", () => json([runningJob])),
      route("POST", "/api/jobs/job1/cancel", () => json({ ...runningJob, cancel_requested: true })),
    );
    const fake = fakeJobsSocket();
    renderWithProviders(
      <JobsSocketProvider socket={fake.socket}>
        <JobTray />
      </JobsSocketProvider>,
    );
    act(() => fake.last().open());
    const button = await screen.findByRole("button", { name: "Jobs: 1 running, 0 waiting" });
    await userEvent.click(button);
    const row = await screen.findByRole("group", { name: "Import cats" });
    expect(row).toHaveTextContent("Running");
    await waitFor(() => expect(fake.last().sent).toContainEqual({ op: "subscribe", job_id: "job1", since: 0 }));
    act(() =>
      fake.last().deliver({
        type: "event",
        job_id: "job1",
        event: { seq: 1, type: "progress", data: { done: 3, total: 10, unit: "step" }, time: 1 },
      }),
    );
    expect(row).toHaveTextContent("3 / 10 steps");
    // Closing and opening the tray keeps the progress and the one subscription (no replay).
    await userEvent.click(button);
    await waitFor(() => expect(screen.queryByRole("group", { name: "Import cats" })).not.toBeInTheDocument());
    await userEvent.click(button);
    const again = await screen.findByRole("group", { name: "Import cats" });
    expect(again).toHaveTextContent("3 / 10 steps");
    expect(fake.last().sent.filter((m) => m.op === "subscribe")).toHaveLength(1);
    await userEvent.click(within(again).getByRole("button", { name: "Cancel Import cats" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/api/jobs/job1/cancel"))).toBe(true));
    expect(await within(again).findByRole("button", { name: "Cancel Import cats" })).toHaveTextContent("Cancelling…");
  });

  it("says when the connection is lost, in words", async () => {
    mockFetch(route("GET", "/api/jobs", () => json([])));
    const fake = fakeJobsSocket();
    renderWithProviders(
      <JobsSocketProvider socket={fake.socket}>
        <JobTray />
      </JobsSocketProvider>,
    );
    act(() => fake.last().open());
    act(() => fake.last().drop());
    expect(await screen.findByRole("status")).toHaveTextContent("Reconnecting to the server…");
    act(() => fake.runTimers());
    act(() => fake.last().open());
    await waitFor(() => expect(screen.queryByText("Reconnecting to the server…")).not.toBeInTheDocument());
  });

  it("shows a refused cancel as message + fix", async () => {
    mockFetch(
      route("GET", "/api/jobs", () => json([runningJob])),
      route("POST", "/api/jobs/job1/cancel", () =>
        json({ error: { code: "job", message: "The job has already finished.", fix: "Reload the list.", field: null } }, 409),
      ),
    );
    const fake = fakeJobsSocket();
    renderWithProviders(
      <JobsSocketProvider socket={fake.socket}>
        <JobTray />
      </JobsSocketProvider>,
    );
    await userEvent.click(await screen.findByRole("button", { name: /Jobs: 1 running/ }));
    await userEvent.click(await screen.findByRole("button", { name: "Cancel Import cats" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The job has already finished.");
    expect(alert).toHaveTextContent("What to do: Reload the list.");
  });
});

describe("the token page", () => {
  it("appears when the server answers 401 and sends the token as ?token=", async () => {
    mockFetch(
      route("GET", "/api/jobs", () =>
        json({ error: { code: "auth", message: "This server needs its access token.", fix: "Open the link.", field: null } }, 401),
      ),
    );
    const fake = fakeJobsSocket();
    renderWithProviders(
      <TokenGate>
        <JobsSocketProvider socket={fake.socket}>
          <JobTray />
        </JobsSocketProvider>
      </TokenGate>,
    );
    expect(await screen.findByRole("heading", { name: "This server needs its access token" })).toBeInTheDocument();
    expect(screen.getByLabelText(/Access token/)).toBeInTheDocument();
  });

  it("asks for the token before sending, then opens the link with it", async () => {
    const navigate = vi.fn();
    renderWithProviders(<TokenPage navigate={navigate} />);
    await userEvent.click(screen.getByRole("button", { name: "Open lorakit" }));
    expect(screen.getByText("Paste the token first.")).toBeInTheDocument();
    expect(navigate).not.toHaveBeenCalled();
    await userEvent.type(screen.getByLabelText(/Access token/), " abc123 ");
    await userEvent.click(screen.getByRole("button", { name: "Open lorakit" }));
    expect(navigate).toHaveBeenCalledWith(expect.stringMatching(/\?token=abc123$/));
  });

  it("builds the link keeping the rest of the address", () => {
    expect(tokenLink({ pathname: "/datasets/cats", search: "?view=grid", hash: "#x" }, "t o")).toBe(
      "/datasets/cats?view=grid&token=t+o#x",
    );
  });
});
