import { describe, expect, it } from "vitest";
import { FakeSocket, fakeJobsSocket } from "@/test/fakeSocket";
import { type JobEvent, JobsSocket } from "./jobsSocket";

const event = (seq: number) => ({ seq, type: "progress", data: { done: seq, total: 10 }, time: seq });
const frame = (jobId: string, seq: number) => ({ type: "event", job_id: jobId, event: event(seq) });


describe("JobsSocket", () => {
  it("asks for job changes and subscribes on open, then delivers events in order", () => {
    const { socket, last } = fakeJobsSocket();
    const seen: number[] = [];
    socket.subscribe("job1", (e) => seen.push(e.seq));
    socket.start();
    expect(socket.status).toBe("connecting");
    last().open();
    expect(socket.status).toBe("open");
    expect(last().sent).toEqual([{ op: "jobs" }, { op: "subscribe", job_id: "job1", since: 0 }]);
    last().deliver(frame("job1", 1));
    last().deliver([frame("job1", 2), frame("job1", 3)]); // a frame with several messages
    expect(seen).toEqual([1, 2, 3]);
    expect(socket.lastSeq("job1")).toBe(3);
  });

  it("after a drop, reconnects and resumes from the last seq: nothing lost, nothing repeated", () => {
    const { socket, sockets, last, runTimers } = fakeJobsSocket();
    const seen: number[] = [];
    socket.start();
    last().open();
    socket.subscribe("job1", (e) => seen.push(e.seq));
    expect(last().sent).toContainEqual({ op: "subscribe", job_id: "job1", since: 0 });
    last().deliver([frame("job1", 1), frame("job1", 2)]);

    last().drop();
    expect(socket.status).toBe("reconnecting");
    runTimers();
    expect(sockets).toHaveLength(2);
    last().open();
    expect(last().sent).toContainEqual({ op: "subscribe", job_id: "job1", since: 2 });
    // A replay that overlaps what was already delivered, then live events.
    last().deliver([frame("job1", 2), frame("job1", 3), frame("job1", 4)]);
    last().deliver(frame("job1", 3));
    last().deliver(frame("job1", 5));
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it("keeps trying while the server is away, backing off, and recovers", () => {
    const delays: number[] = [];
    const sockets: FakeSocket[] = [];
    const timers: (() => void)[] = [];
    const socket = new JobsSocket({
      url: "ws://test/ws",
      createSocket: (url) => {
        const fake = new FakeSocket(url);
        sockets.push(fake);
        return fake;
      },
      backoff: (attempt) => {
        delays.push(attempt);
        return 1;
      },
      setTimer: (fn) => timers.push(fn),
      clearTimer: () => {},
    });
    const statuses: string[] = [];
    socket.onStatus((s) => statuses.push(s));
    socket.start();
    for (let i = 0; i < 3; i += 1) {
      sockets[sockets.length - 1]!.drop();
      timers.splice(0).forEach((fn) => fn());
    }
    expect(delays).toEqual([0, 1, 2]);
    sockets[sockets.length - 1]!.open();
    expect(statuses).toEqual(["connecting", "reconnecting", "open"]);
    sockets[sockets.length - 1]!.drop();
    expect(delays).toEqual([0, 1, 2, 0]); // the count starts again after a success
  });

  it("answers a resync by subscribing again from the last delivered seq", () => {
    const { socket, last } = fakeJobsSocket();
    socket.start();
    last().open();
    const seen: JobEvent[] = [];
    socket.subscribe("job1", (e) => seen.push(e), 0);
    last().deliver(frame("job1", 1));
    last().deliver({ type: "resync", job_id: "job1" });
    expect(last().sent.at(-1)).toEqual({ op: "subscribe", job_id: "job1", since: 1 });
  });

  it("passes job changes on, ignores junk, and unsubscribes when the last listener leaves", () => {
    const { socket, last } = fakeJobsSocket();
    socket.start();
    last().open();
    const jobs: string[] = [];
    socket.onJob((job) => jobs.push(`${job.id}:${job.state}`));
    const off1 = socket.subscribe("job1", () => {});
    const off2 = socket.subscribe("job1", () => {});
    last().deliver({ type: "job", job: { id: "job1", kind: "sleep", state: "running", created_at: 1 } });
    last().onmessage?.(new MessageEvent("message", { data: "not json" }));
    last().deliver({ type: "error", error: { code: "x", message: "y" } });
    last().deliver(frame("other", 1)); // not subscribed: ignored
    expect(jobs).toEqual(["job1:running"]);
    off1();
    expect(last().sent.filter((m) => m.op === "unsubscribe")).toHaveLength(0);
    off2();
    expect(last().sent.at(-1)).toEqual({ op: "unsubscribe", job_id: "job1" });
  });

  it("stops for good when stopped", () => {
    const { socket, sockets, last, runTimers } = fakeJobsSocket();
    socket.start();
    last().open();
    socket.stop();
    expect(socket.status).toBe("closed");
    runTimers();
    expect(sockets).toHaveLength(1);
  });
});
