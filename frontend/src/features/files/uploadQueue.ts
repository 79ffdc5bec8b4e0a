// The upload queue: files go up in chunks (POST /api/files/upload?path&offset&total). Before each file, and
// after anything went wrong, the queue asks the server how much it already has (GET /api/files/upload?path)
// and goes on from there, so an interrupted upload never restarts from zero. Before going on from bytes an
// earlier session left, it compares the first and last MiB of them with the file (POST .../upload/check):
// a part left by another file of the same name, or damaged, is started again instead of being completed
// with the wrong bytes. When the server cannot be reached the queue says so and keeps trying (with growing
// pauses) until it answers again.

export interface UploadState {
  path: string;
  received: number;
  total?: number | null;
  complete: boolean;
}

/** How the queue talks to the server (the real one is in api.ts; tests pass a fake). */
export interface UploadTransport {
  status(path: string, signal?: AbortSignal): Promise<UploadState>;
  send(chunk: {
    path: string;
    offset: number;
    total: number;
    body: Blob;
    overwrite?: boolean;
    signal?: AbortSignal;
  }): Promise<UploadState>;
  /** Whether `body` equals the bytes the server's part file holds at `offset` (see POST /api/files/upload/check). */
  check?(chunk: { path: string; offset: number; body: Blob; signal?: AbortSignal }): Promise<{ matches: boolean }>;
}

/** A problem the server explained (what happened + what to do), as the shell's ApiError carries it. */
export interface Problem {
  message: string;
  fix: string | null;
}

export type UploadStatus = "queued" | "uploading" | "waiting" | "done" | "failed" | "cancelled";

export interface UploadItem {
  id: number;
  name: string;
  /** Workspace-relative target, e.g. datasets/cats/10_cat/a.png */
  path: string;
  size: number;
  /** Bytes the server holds (what the progress bar shows). */
  sent: number;
  status: UploadStatus;
  problem: Problem | null;
  /** Whether this upload went on from bytes already on the server (an earlier, interrupted upload). */
  resumedFrom: number;
  /** Bytes an earlier upload left on the server that did not match this file (so it started again); 0 if none. */
  discarded: number;
  /** The server refused because a file of that name is there: the user may choose to replace it. */
  exists: boolean;
}

export interface QueueSnapshot {
  items: UploadItem[];
  totalBytes: number;
  sentBytes: number;
  /** True while the server cannot be reached; uploads wait and go on when it is back. */
  serverAway: boolean;
  active: boolean;
}

export interface QueueOptions {
  chunkSize?: number;
  concurrency?: number;
  /** Pauses between tries while the server is away, in ms; the last one repeats. */
  backoff?: number[];
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Called when a file has arrived whole (the page refreshes its listing). */
  onFileDone?: (item: UploadItem) => void;
  /** Listeners hear of changes at most this often (ms); 0: at once. A folder of 10,000 images changes often. */
  publishMs?: number;
  /** How many bytes at each end of an earlier upload's part are compared with the file before going on. */
  verifyBytes?: number;
}

export const DEFAULT_CHUNK = 8 * 1024 * 1024;
export const DEFAULT_VERIFY = 1024 * 1024;

/** Whether an error means "the server cannot be reached" (network failure, gateway or restart answers). */
export function isServerAway(error: unknown): boolean {
  if (error instanceof TypeError) return true; // fetch: the connection failed
  if (typeof error === "object" && error !== null) {
    const { status, code } = error as { status?: unknown; code?: unknown };
    if (code === "offline") return true;
    if (typeof status === "number") return status === 0 || status === 502 || status === 503 || status === 504;
  }
  return false;
}

function isOffsetConflict(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { status, fix } = error as { status?: unknown; fix?: unknown };
  return status === 409 && typeof fix === "string" && fix.startsWith("Send from offset");
}

function isExists(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { status, message } = error as { status?: unknown; message?: unknown };
  return status === 409 && typeof message === "string" && message.endsWith("already exists.");
}

function asProblem(error: unknown): Problem {
  if (typeof error === "object" && error !== null && typeof (error as Problem).message === "string") {
    const { message, fix } = error as { message: string; fix?: unknown };
    return { message, fix: typeof fix === "string" ? fix : null };
  }
  return { message: String(error), fix: "Try again." };
}

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

interface Entry {
  item: UploadItem;
  file: Blob;
  controller: AbortController;
  /** This queue already sent bytes of it: a "complete" answer of the right size then means it arrived. */
  started: boolean;
  /** The user chose to replace a file that is already there. */
  overwrite: boolean;
  /** The server was asked (or skipped asking) where to start: later tries always ask. */
  asked: boolean;
}

export class UploadQueue {
  private entries: Entry[] = [];
  private listeners = new Set<() => void>();
  private snapshot: QueueSnapshot = { items: [], totalBytes: 0, sentBytes: 0, serverAway: false, active: false };
  private running = 0;
  private away = 0; // uploads currently waiting for the server
  private nextId = 1;
  private readonly chunkSize: number;
  private readonly concurrency: number;
  private readonly backoff: number[];
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly onFileDone?: (item: UploadItem) => void;
  private readonly publishMs: number;
  private readonly verifyBytes: number;
  private publishTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly transport: UploadTransport,
    options: QueueOptions = {},
  ) {
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
    this.concurrency = options.concurrency ?? 3;
    this.backoff = options.backoff ?? [500, 1000, 2000, 4000, 5000];
    this.sleep = options.sleep ?? abortable;
    this.onFileDone = options.onFileDone;
    this.publishMs = options.publishMs ?? 100;
    this.verifyBytes = options.verifyBytes ?? DEFAULT_VERIFY;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): QueueSnapshot => this.snapshot;

  /** Queue files (each with its workspace-relative target path); they start right away. */
  add(files: { file: Blob & { name?: string }; path: string }[]): UploadItem[] {
    const added = files.map(({ file, path }) => {
      const item: UploadItem = {
        id: this.nextId++,
        name: path.split("/").pop() ?? path,
        path,
        size: file.size,
        sent: 0,
        status: "queued",
        problem: null,
        resumedFrom: 0,
        discarded: 0,
        exists: false,
      };
      this.entries.push({ item, file, controller: new AbortController(), started: false, overwrite: false, asked: false });
      return item;
    });
    this.publish();
    this.pump();
    return added;
  }

  /** Try a failed or cancelled upload again: it goes on from what the server already has. */
  retry(id: number): void {
    const entry = this.entries.find((e) => e.item.id === id);
    if (!entry || (entry.item.status !== "failed" && entry.item.status !== "cancelled")) return;
    entry.controller = new AbortController();
    this.update(entry, { status: "queued", problem: null, exists: false });
    this.pump();
  }

  /** Upload again over the file that is already there (after the server refused to overwrite it). */
  replace(id: number): void {
    const entry = this.entries.find((e) => e.item.id === id);
    if (!entry || entry.item.status !== "failed") return;
    entry.overwrite = true;
    this.retry(id);
  }

  retryFailed(): void {
    for (const entry of this.entries) if (entry.item.status === "failed") this.retry(entry.item.id);
  }

  /** Stop an upload; what arrived stays on the server, so a retry goes on from there. */
  cancel(id: number): void {
    const entry = this.entries.find((e) => e.item.id === id);
    if (!entry || entry.item.status === "done" || entry.item.status === "cancelled") return;
    entry.controller.abort();
    this.update(entry, { status: "cancelled" });
  }

  /** Forget finished uploads (done and cancelled) from the list. */
  clearFinished(): void {
    this.entries = this.entries.filter((e) => e.item.status !== "done" && e.item.status !== "cancelled");
    this.publish();
  }

  /** Resolves when nothing is queued, uploading or waiting. */
  async idle(): Promise<void> {
    while (this.snapshot.active || this.publishTimer !== null) {
      await new Promise<void>((resolve) => {
        const stop = this.subscribe(() => {
          if (!this.snapshot.active && this.publishTimer === null) {
            stop();
            resolve();
          }
        });
      });
    }
  }

  private pump(): void {
    while (this.running < this.concurrency) {
      const next = this.entries.find((e) => e.item.status === "queued");
      if (!next) return;
      this.running += 1;
      this.update(next, { status: "uploading" });
      void this.upload(next).finally(() => {
        this.running -= 1;
        this.pump();
        this.publish();
      });
    }
  }

  private async upload(entry: Entry): Promise<void> {
    const { signal } = entry.controller;
    let pause = 0;
    let conflicts = 0;
    let waiting = false;
    const setWaiting = (value: boolean) => {
      if (value === waiting) return;
      waiting = value;
      this.away += value ? 1 : -1;
    };
    try {
      while (!signal.aborted) {
        try {
          let offset = await this.startingOffset(entry, signal);
          setWaiting(false);
          pause = 0;
          if (offset === null) return; // it had already arrived
          if (entry.item.status !== "uploading") this.update(entry, { status: "uploading" });
          do {
            const body = entry.file.slice(offset, Math.min(offset + this.chunkSize, entry.item.size));
            entry.started = true;
            const answer = await this.transport.send({
              path: entry.item.path,
              offset,
              total: entry.item.size,
              body,
              overwrite: entry.overwrite,
              signal,
            });
            offset = answer.received;
            this.update(entry, { sent: Math.min(offset, entry.item.size) });
            if (answer.complete) break;
          } while (offset < entry.item.size && !signal.aborted);
          if (signal.aborted) return;
          this.finish(entry);
          return;
        } catch (error) {
          if (signal.aborted) return;
          if (isServerAway(error)) {
            setWaiting(true);
            this.update(entry, { status: "waiting" });
            await this.sleep(this.backoff[Math.min(pause, this.backoff.length - 1)] ?? 1000, signal);
            pause += 1;
            continue; // ask the server how much it has, then go on from there
          }
          if (isOffsetConflict(error) && conflicts < 3) {
            conflicts += 1; // another tab or an earlier try moved the server's offset: ask again
            continue;
          }
          // A refusal because the name is taken means nothing of ours is there: a later "complete" is not ours.
          if (isExists(error)) entry.started = false;
          this.update(entry, { status: "failed", problem: asProblem(error), exists: isExists(error) });
          return;
        }
      }
    } finally {
      setWaiting(false);
      this.publish();
    }
  }

  /** Where to go on from: the server's offset (null when the file already arrived through this queue). */
  private async startingOffset(entry: Entry, signal: AbortSignal): Promise<number | null> {
    // A file that fits in one chunk has nothing to resume on its first try: one request instead of two.
    if (!entry.started && !entry.asked && entry.item.size <= this.chunkSize) {
      entry.asked = true;
      return 0;
    }
    entry.asked = true;
    const state = await this.transport.status(entry.item.path, signal);
    if (state.complete) {
      // Our last chunk arrived but its answer was lost: the file is there, with our size.
      if (entry.started && state.received === entry.item.size) {
        this.update(entry, { sent: entry.item.size });
        this.finish(entry);
        return null;
      }
      return 0; // a file already there: the server refuses to overwrite it unless the user chose to replace it
    }
    let offset = state.received <= entry.item.size ? state.received : 0;
    // Bytes this queue did not send itself are compared with the file before the upload goes on from them.
    if (!entry.started && offset > 0 && !(await this.partMatches(entry, offset, signal))) {
      this.update(entry, { discarded: offset });
      offset = 0; // sending from 0 replaces the part on the server
    }
    if (!entry.started && offset > 0) this.update(entry, { resumedFrom: offset });
    this.update(entry, { sent: offset });
    return offset;
  }

  /** Whether the first and last `verifyBytes` of the server's `received` bytes equal the file's. */
  private async partMatches(entry: Entry, received: number, signal: AbortSignal): Promise<boolean> {
    const check = this.transport.check;
    if (!check) return true;
    const size = Math.min(this.verifyBytes, received);
    const windows = received - size > 0 ? [0, received - size] : [0];
    for (const start of windows) {
      const body = entry.file.slice(start, start + size);
      try {
        const answer = await check.call(this.transport, { path: entry.item.path, offset: start, body, signal });
        if (!answer.matches) return false;
      } catch (error) {
        if ((error as { status?: unknown } | null)?.status === 404) return false; // the part is gone meanwhile
        throw error;
      }
    }
    return true;
  }

  private finish(entry: Entry): void {
    this.update(entry, { status: "done", sent: entry.item.size, problem: null });
    this.onFileDone?.(entry.item);
  }

  private update(entry: Entry, change: Partial<UploadItem>): void {
    entry.item = { ...entry.item, ...change };
    this.publish();
  }

  private publish(): void {
    if (this.publishMs <= 0) return this.flush();
    this.publishTimer ??= setTimeout(() => {
      this.publishTimer = null;
      this.flush();
    }, this.publishMs);
  }

  private flush(): void {
    const items = this.entries.map((e) => e.item);
    const counted = items.filter((i) => i.status !== "cancelled");
    this.snapshot = {
      items,
      totalBytes: counted.reduce((sum, i) => sum + i.size, 0),
      sentBytes: counted.reduce((sum, i) => sum + i.sent, 0),
      serverAway: this.away > 0,
      active: items.some((i) => i.status === "queued" || i.status === "uploading" || i.status === "waiting"),
    };
    for (const listener of this.listeners) listener();
  }
}
