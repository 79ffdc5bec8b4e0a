import { describe, expect, it } from "vitest";
import { FakeServerError, FakeUploadServer, patternFile, readBlob } from "./fakeUploadServer";
import { isServerAway, UploadQueue, type QueueSnapshot } from "./uploadQueue";

const noWait = () => Promise.resolve();
const now = { publishMs: 0 }; // every change heard at once

function bytesOf(server: FakeUploadServer, path: string): number[] {
  return Array.from(server.files.get(path) ?? []);
}

function expected(size: number): number[] {
  return Array.from({ length: size }, (_, i) => i % 251);
}

describe("UploadQueue", () => {
  it("sends a file in chunks of the chosen size, in order, and reports progress", async () => {
    const server = new FakeUploadServer();
    const queue = new UploadQueue(server, { chunkSize: 100, sleep: noWait, ...now });
    const seen: number[] = [];
    queue.subscribe(() => seen.push(queue.getSnapshot().sentBytes));
    queue.add([{ file: patternFile("a.png", 250), path: "datasets/cats/a.png" }]);
    await queue.idle();

    expect(server.sends.map((s) => [s.offset, s.length])).toEqual([
      [0, 100],
      [100, 100],
      [200, 50],
    ]);
    expect(bytesOf(server, "datasets/cats/a.png")).toEqual(expected(250));
    const snapshot = queue.getSnapshot();
    expect(snapshot.items[0]).toMatchObject({ status: "done", sent: 250, size: 250, resumedFrom: 0 });
    expect(snapshot).toMatchObject({ totalBytes: 250, sentBytes: 250, active: false, serverAway: false });
    expect(seen).toEqual(expect.arrayContaining([100, 200, 250]));
  });

  it("goes on from the server's offset when an earlier upload was interrupted", async () => {
    const server = new FakeUploadServer();
    const file = patternFile("big.png", 1000);
    // An earlier session got 300 bytes up before the tab was closed.
    server.parts.set("datasets/big.png", await readBlob(file.slice(0, 300)));
    const queue = new UploadQueue(server, { chunkSize: 400, sleep: noWait, ...now });
    queue.add([{ file, path: "datasets/big.png" }]);
    await queue.idle();

    expect(server.sends[0]).toEqual({ path: "datasets/big.png", offset: 300, length: 400 });
    expect(server.sends.reduce((sum, s) => sum + s.length, 0)).toBe(700); // the first 300 were not sent again
    expect(bytesOf(server, "datasets/big.png")).toEqual(expected(1000));
    expect(queue.getSnapshot().items[0]).toMatchObject({ status: "done", resumedFrom: 300 });
  });

  it("waits while the server is away, says so, and resumes from its offset when it is back", async () => {
    const server = new FakeUploadServer();
    const snapshots: QueueSnapshot[] = [];
    let pauses = 0;
    const queue = new UploadQueue(server, {
      chunkSize: 100,
      // The server comes back after the third pause.
      sleep: async () => {
        pauses += 1;
        if (pauses === 3) server.down = false;
      },
      ...now,
    });
    queue.subscribe(() => snapshots.push(queue.getSnapshot()));
    // The second chunk's request dies with the server, which then stays down for a while.
    server.failNext(1, () => {
      server.down = true;
      return new TypeError("Failed to fetch");
    });
    queue.add([{ file: patternFile("a.png", 350), path: "datasets/a.png" }]);
    await queue.idle();

    expect(pauses).toBe(3);
    const away = snapshots.filter((s) => s.serverAway);
    expect(away.length).toBeGreaterThan(0);
    expect(away[0]?.items[0]?.status).toBe("waiting");
    expect(queue.getSnapshot().serverAway).toBe(false);
    // Chunk 1 (0-100) arrived before the failure; after the pause it went on from 100, not from 0.
    expect(server.sends.map((s) => s.offset)).toEqual([0, 100, 200, 300]);
    expect(bytesOf(server, "datasets/a.png")).toEqual(expected(350));
  });

  it("takes a lost answer to the last chunk as arrived when the server holds the whole file", async () => {
    const server = new FakeUploadServer();
    const realSend = server.send.bind(server);
    let calls = 0;
    server.send = async (chunk) => {
      calls += 1;
      const answer = await realSend(chunk);
      if (calls === 2) throw new TypeError("Failed to fetch"); // stored, but the answer never came
      return answer;
    };
    const queue = new UploadQueue(server, { chunkSize: 100, sleep: noWait, ...now });
    queue.add([{ file: patternFile("a.png", 200), path: "datasets/a.png" }]);
    await queue.idle();
    expect(calls).toBe(2);
    expect(queue.getSnapshot().items[0]).toMatchObject({ status: "done", sent: 200, problem: null });
  });

  it("shows the server's refusal, and a retry after the failure goes on from the server's offset", async () => {
    const server = new FakeUploadServer();
    const queue = new UploadQueue(server, { chunkSize: 100, sleep: noWait, ...now });
    // The first chunk goes through, then the server refuses (disk full: not "away", a real failure).
    const realSend = server.send.bind(server);
    let calls = 0;
    server.send = async (chunk) => {
      calls += 1;
      if (calls === 2) {
        throw new FakeServerError(507, "The disk is full.", "Free some space (empty the trash?) and try again.", "disk_full");
      }
      return realSend(chunk);
    };
    queue.add([{ file: patternFile("a.png", 300), path: "datasets/a.png" }]);
    await queue.idle();
    const failed = queue.getSnapshot().items[0];
    expect(failed).toMatchObject({ status: "failed", sent: 100 });
    expect(failed?.problem).toEqual({ message: "The disk is full.", fix: "Free some space (empty the trash?) and try again." });

    queue.retry(failed!.id);
    await queue.idle();
    expect(server.sends.map((s) => s.offset)).toEqual([0, 100, 200]);
    expect(queue.getSnapshot().items[0]).toMatchObject({ status: "done", problem: null });
    expect(bytesOf(server, "datasets/a.png")).toEqual(expected(300));
  });

  it("refuses to overwrite a file that is there until the user chooses to replace it", async () => {
    const server = new FakeUploadServer();
    server.files.set("datasets/a.png", new Uint8Array([1, 2, 3]));
    const queue = new UploadQueue(server, { chunkSize: 100, sleep: noWait, ...now });
    queue.add([{ file: patternFile("a.png", 150), path: "datasets/a.png" }]);
    await queue.idle();
    const item = queue.getSnapshot().items[0]!;
    expect(item).toMatchObject({ status: "failed", exists: true });
    expect(item.problem?.message).toBe("'datasets/a.png' already exists.");
    expect(bytesOf(server, "datasets/a.png")).toEqual([1, 2, 3]);

    queue.replace(item.id);
    await queue.idle();
    expect(queue.getSnapshot().items[0]).toMatchObject({ status: "done", exists: false });
    expect(bytesOf(server, "datasets/a.png")).toEqual(expected(150));
  });

  it("asks for the offset again when the server's differs, runs files side by side, and sends empty files", async () => {
    const server = new FakeUploadServer();
    server.failNext(1, () => new FakeServerError(409, "The upload has 0 bytes so far, not 100.", "Send from offset 0."));
    const queue = new UploadQueue(server, { chunkSize: 100, concurrency: 2, sleep: noWait, ...now });
    queue.add([
      { file: patternFile("a.png", 120), path: "datasets/x/a.png" },
      { file: patternFile("a.txt", 0), path: "datasets/x/a.txt" },
      { file: patternFile("b.png", 90), path: "datasets/x/b.png" },
    ]);
    await queue.idle();
    expect(queue.getSnapshot().items.map((i) => i.status)).toEqual(["done", "done", "done"]);
    expect(bytesOf(server, "datasets/x/a.png")).toEqual(expected(120));
    expect(server.files.get("datasets/x/a.txt")?.length).toBe(0);
  });

  it("sends a file that fits in one chunk with one request, and never takes a same-sized file there as its own", async () => {
    const server = new FakeUploadServer();
    const queue = new UploadQueue(server, { chunkSize: 100, sleep: noWait, ...now });
    queue.add([{ file: patternFile("small.png", 60), path: "datasets/small.png" }]);
    await queue.idle();
    expect(server.statusCalls).toBe(0);
    expect(server.sends).toHaveLength(1);

    server.files.set("datasets/same.png", new Uint8Array(150)); // someone else's file, our size
    for (const size of [150, 60]) {
      queue.add([{ file: patternFile("same.png", size), path: "datasets/same.png" }]);
      await queue.idle();
      const item = queue.getSnapshot().items.at(-1)!;
      queue.retry(item.id); // the retry asks the server, which says a complete file of the same size is there
      await queue.idle();
      expect(queue.getSnapshot().items.at(-1)).toMatchObject({ status: "failed", exists: true });
    }
    expect(Array.from(server.files.get("datasets/same.png")!)).toEqual(new Array(150).fill(0));
  });

  it("cancels an upload, leaving what arrived for a later retry", async () => {
    const server = new FakeUploadServer();
    const queue = new UploadQueue(server, { chunkSize: 100, sleep: noWait, ...now });
    const realSend = server.send.bind(server);
    server.send = async (chunk) => {
      const answer = await realSend(chunk);
      if (answer.received === 100) queue.cancel(queue.getSnapshot().items[0]!.id);
      return answer;
    };
    queue.add([{ file: patternFile("a.png", 300), path: "datasets/a.png" }]);
    await queue.idle();
    expect(queue.getSnapshot().items[0]?.status).toBe("cancelled");
    expect(server.parts.get("datasets/a.png")?.length).toBe(100);
    server.send = realSend;
    queue.retry(queue.getSnapshot().items[0]!.id);
    await queue.idle();
    expect(server.sends.map((s) => s.offset)).toEqual([0, 100, 200]);
    expect(queue.getSnapshot().items[0]?.status).toBe("done");
  });
});

describe("isServerAway", () => {
  it("tells a network failure or a gateway answer from a refusal", () => {
    expect(isServerAway(new TypeError("Failed to fetch"))).toBe(true);
    expect(isServerAway({ status: 0, code: "offline" })).toBe(true);
    expect(isServerAway({ status: 503 })).toBe(true);
    expect(isServerAway({ status: 409, code: "conflict" })).toBe(false);
    expect(isServerAway({ status: 500, code: "internal" })).toBe(false);
  });
});
