// An in-memory stand-in for the server's upload routes, with the same rules (tests only): a part grows
// from offset 0 or from what it holds; the file takes its name when `total` bytes arrived; an existing
// file is refused unless overwrite. `failNext` makes the next sends fail as the network or the server would.
import type { UploadState, UploadTransport } from "./uploadQueue";

export class FakeServerError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fix: string | null,
    readonly code = "conflict",
  ) {
    super(message);
  }
}

export class FakeUploadServer implements UploadTransport {
  parts = new Map<string, Uint8Array>();
  files = new Map<string, Uint8Array>();
  sends: { path: string; offset: number; length: number }[] = [];
  statusCalls = 0;
  private failures: (() => Error)[] = [];
  /** While true every request fails as if the server were gone (connection refused). */
  down = false;

  /** The next `count` sends fail with what `make` returns (after the server stored nothing). */
  failNext(count: number, make: () => Error): void {
    for (let i = 0; i < count; i += 1) this.failures.push(make);
  }

  async status(path: string): Promise<UploadState> {
    this.statusCalls += 1;
    if (this.down) throw new TypeError("Failed to fetch");
    const part = this.parts.get(path);
    const file = this.files.get(path);
    if (file && !part) return { path, received: file.length, total: file.length, complete: true };
    return { path, received: part?.length ?? 0, complete: false };
  }

  checks: { path: string; offset: number; length: number }[] = [];

  async check({ path, offset, body }: { path: string; offset: number; body: Blob }): Promise<{ matches: boolean }> {
    if (this.down) throw new TypeError("Failed to fetch");
    const part = this.parts.get(path);
    if (!part) throw new FakeServerError(404, `No upload of '${path}' is under way.`, "Start it from offset 0.", "not_found");
    const bytes = await readBlob(body);
    this.checks.push({ path, offset, length: bytes.length });
    const held = part.subarray(offset, offset + bytes.length);
    return { matches: held.length === bytes.length && held.every((b, i) => b === bytes[i]) };
  }

  async send({
    path,
    offset,
    total,
    body,
    overwrite,
  }: {
    path: string;
    offset: number;
    total: number;
    body: Blob;
    overwrite?: boolean;
  }): Promise<UploadState> {
    if (this.down) throw new TypeError("Failed to fetch");
    const failure = this.failures.shift();
    if (failure) throw failure();
    if (this.files.has(path) && !overwrite) {
      throw new FakeServerError(409, `'${path}' already exists.`, "Upload under another name, or pass overwrite=true.");
    }
    const have = this.parts.get(path) ?? new Uint8Array(0);
    if (offset !== 0 && offset !== have.length) {
      throw new FakeServerError(409, `The upload has ${have.length} bytes so far, not ${offset}.`, `Send from offset ${have.length}.`);
    }
    const bytes = await readBlob(body);
    this.sends.push({ path, offset, length: bytes.length });
    const grown = new Uint8Array(offset + bytes.length);
    grown.set(have.subarray(0, offset));
    grown.set(bytes, offset);
    if (grown.length === total) {
      this.parts.delete(path);
      this.files.set(path, grown);
      return { path, received: grown.length, total, complete: true };
    }
    this.parts.set(path, grown);
    return { path, received: grown.length, total, complete: false };
  }
}

/** A Blob's bytes (jsdom's Blob has no arrayBuffer(); FileReader works everywhere). */
export function readBlob(blob: Blob): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(blob);
  });
}

/** A File of `size` bytes whose content tells positions apart (byte i is i % 251). */
export function patternFile(name: string, size: number): File {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 1) bytes[i] = i % 251;
  return new File([bytes], name);
}
