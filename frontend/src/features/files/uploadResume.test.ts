// Resuming an upload an earlier session left: the bytes on the server are compared with the file first.
import { describe, expect, it } from "vitest";
import { FakeUploadServer, patternFile, readBlob } from "./fakeUploadServer";
import { UploadQueue, type UploadState, type UploadTransport } from "./uploadQueue";

const noWait = () => Promise.resolve();
const options = { sleep: noWait, publishMs: 0 };

function pattern(start: number, end: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(end - start);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = (start + i) % 251;
  return bytes;
}

describe("resuming an earlier upload", () => {
  it("compares the first and last bytes received, then goes on from them", async () => {
    const server = new FakeUploadServer();
    const file = patternFile("a.png", 1000);
    server.parts.set("datasets/a.png", await readBlob(file.slice(0, 600)));
    const queue = new UploadQueue(server, { chunkSize: 300, verifyBytes: 100, ...options });
    queue.add([{ file, path: "datasets/a.png" }]);
    await queue.idle();
    expect(server.checks.map((c) => [c.offset, c.length])).toEqual([
      [0, 100],
      [500, 100],
    ]);
    expect(server.sends.map((s) => s.offset)).toEqual([600, 900]);
    expect(Array.from(server.files.get("datasets/a.png") ?? [])).toEqual(Array.from(pattern(0, 1000)));
    expect(queue.getSnapshot().items[0]).toMatchObject({ status: "done", resumedFrom: 600, discarded: 0 });
  });

  it("starts again when the part is another file's, and says so", async () => {
    const server = new FakeUploadServer();
    server.parts.set("datasets/a.png", new Uint8Array(400).fill(7)); // another a.png, 400 bytes in
    const queue = new UploadQueue(server, { chunkSize: 500, verifyBytes: 100, ...options });
    queue.add([{ file: patternFile("a.png", 1000), path: "datasets/a.png" }]);
    await queue.idle();
    expect(server.checks).toHaveLength(1); // the first window already differs
    expect(server.sends.map((s) => s.offset)).toEqual([0, 500]);
    expect(Array.from(server.files.get("datasets/a.png") ?? [])).toEqual(Array.from(pattern(0, 1000)));
    expect(queue.getSnapshot().items[0]).toMatchObject({ status: "done", resumedFrom: 0, discarded: 400 });
  });

  it("starts again when only the end of the part is damaged", async () => {
    const server = new FakeUploadServer();
    const file = patternFile("a.png", 1000);
    const part = await readBlob(file.slice(0, 600));
    part.fill(0, 590); // a crash left zeros at its end
    server.parts.set("datasets/a.png", part);
    const queue = new UploadQueue(server, { chunkSize: 500, verifyBytes: 100, ...options });
    queue.add([{ file, path: "datasets/a.png" }]);
    await queue.idle();
    expect(server.checks.map((c) => c.offset)).toEqual([0, 500]);
    expect(server.sends.map((s) => s.offset)).toEqual([0, 500]);
    expect(Array.from(server.files.get("datasets/a.png") ?? [])).toEqual(Array.from(pattern(0, 1000)));
    expect(queue.getSnapshot().items[0]?.discarded).toBe(600);
  });
});

/**
 * A 2 GiB file and a server holding all but its last 3 MiB, without 2 GiB in memory: the file makes the bytes
 * of a slice when asked (byte i is i % 251), the server keeps only a count and compares windows by position.
 */
describe("a 2 GiB upload interrupted 3 MiB before its end", () => {
  const MIB = 1024 * 1024;
  const size = 2048 * MIB;
  const lazyFile = { size, name: "model.safetensors", slice: (start = 0, end = size) => new Blob([pattern(start, Math.min(end, size))]) } as unknown as Blob;

  class SparseServer implements UploadTransport {
    received = size - 3 * MIB;
    damagedFrom = Infinity; // bytes from here on hold something else
    checks: number[][] = [];
    sends: number[][] = [];
    onSend: (offset: number) => void = () => undefined;
    async status(path: string): Promise<UploadState> {
      return { path, received: this.received, complete: false };
    }
    async check({ offset, body }: { offset: number; body: Blob }) {
      const bytes = await readBlob(body);
      this.checks.push([offset, bytes.length]);
      const expected = pattern(offset, offset + bytes.length);
      const intact = offset + bytes.length <= Math.min(this.received, this.damagedFrom);
      return { matches: intact && bytes.every((b, i) => b === expected[i]) };
    }
    async send({ path, offset, total, body }: { path: string; offset: number; total: number; body: Blob }) {
      this.sends.push([offset, body.size]);
      this.onSend(offset);
      this.received = offset + body.size;
      return { path, received: this.received, total, complete: this.received === total };
    }
  }

  it("checks 1 MiB at each end and sends only the missing 3 MiB", async () => {
    const server = new SparseServer();
    const queue = new UploadQueue(server, { chunkSize: 8 * MIB, ...options });
    queue.add([{ file: lazyFile, path: "models/checkpoints/model.safetensors" }]);
    await queue.idle();
    expect(server.checks).toEqual([
      [0, MIB],
      [size - 4 * MIB, MIB],
    ]);
    expect(server.sends).toEqual([[size - 3 * MIB, 3 * MIB]]);
    expect(queue.getSnapshot().items[0]).toMatchObject({ status: "done", sent: size, resumedFrom: size - 3 * MIB });
  });

  it("starts from 0 when the part's last MiB does not match", async () => {
    const server = new SparseServer();
    server.damagedFrom = size - 3 * MIB - 10;
    const queue = new UploadQueue(server, { chunkSize: 8 * MIB, ...options });
    server.onSend = () => queue.cancel(queue.getSnapshot().items[0]!.id); // one chunk is enough to see where
    queue.add([{ file: lazyFile, path: "models/checkpoints/model.safetensors" }]);
    await queue.idle();
    expect(server.sends[0]).toEqual([0, 8 * MIB]);
    expect(queue.getSnapshot().items[0]).toMatchObject({ status: "cancelled", discarded: size - 3 * MIB, resumedFrom: 0 });
  });
});
