// One WebSocket to /ws for the whole app: job state changes for everyone, and each job's events for
// those who follow it. After a drop it reconnects and subscribes again from the last sequence number
// it delivered, so no event is lost and none is delivered twice (the server replays from events.jsonl).
import type { components } from "./schema";

export type Job = components["schemas"]["Job"];
export interface JobEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  time: number;
}
export type SocketStatus = "connecting" | "open" | "reconnecting" | "closed";

/** What the socket needs from a WebSocket (a fake one in tests). */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface JobsSocketOptions {
  url?: string;
  createSocket?: (url: string) => SocketLike;
  /** Delay before reconnect attempt n (0-based), in ms. */
  backoff?: (attempt: number) => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

type EventListener = (event: JobEvent) => void;
type JobListener = (job: Job) => void;
type StatusListener = (status: SocketStatus) => void;

const OPEN = 1;

export function defaultSocketUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === "https:" ? "wss:" : "ws:"}//${host}/ws`;
}

export const defaultBackoff = (attempt: number) => Math.min(500 * 2 ** attempt, 10_000);

interface Subscription {
  lastSeq: number;
  listeners: Set<EventListener>;
}

export class JobsSocket {
  private socket: SocketLike | null = null;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly jobListeners = new Set<JobListener>();
  private readonly statusListeners = new Set<StatusListener>();
  private attempt = 0;
  private timer: unknown = null;
  private stopped = true;
  private currentStatus: SocketStatus = "closed";
  private readonly options: Required<JobsSocketOptions>;

  constructor(options: JobsSocketOptions = {}) {
    this.options = {
      url: options.url ?? "",
      createSocket: options.createSocket ?? ((url) => new WebSocket(url) as SocketLike),
      backoff: options.backoff ?? defaultBackoff,
      setTimer: options.setTimer ?? ((fn, ms) => setTimeout(fn, ms)),
      clearTimer: options.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>)),
    };
  }

  get status(): SocketStatus {
    return this.currentStatus;
  }

  /** The last sequence number delivered for a job (0 before any). */
  lastSeq(jobId: string): number {
    return this.subscriptions.get(jobId)?.lastSeq ?? 0;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.options.clearTimer(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = socket.onmessage = socket.onerror = socket.onopen = null;
      socket.close(1000, "page closed");
    }
    this.setStatus("closed");
  }

  /** Follow a job's events after `since` (events already delivered are never delivered again). */
  subscribe(jobId: string, listener: EventListener, since = 0): () => void {
    let subscription = this.subscriptions.get(jobId);
    if (!subscription) {
      subscription = { lastSeq: since, listeners: new Set() };
      this.subscriptions.set(jobId, subscription);
      this.send({ op: "subscribe", job_id: jobId, since: subscription.lastSeq });
    }
    subscription.listeners.add(listener);
    return () => {
      const current = this.subscriptions.get(jobId);
      if (!current) return;
      current.listeners.delete(listener);
      if (current.listeners.size === 0) {
        this.subscriptions.delete(jobId);
        this.send({ op: "unsubscribe", job_id: jobId });
      }
    };
  }

  /** Every job's state changes (and the job as it was when a subscription started). */
  onJob(listener: JobListener): () => void {
    this.jobListeners.add(listener);
    return () => this.jobListeners.delete(listener);
  }

  onStatus(listener: StatusListener): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  private connect(): void {
    this.setStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    let socket: SocketLike;
    try {
      socket = this.options.createSocket(this.options.url || defaultSocketUrl());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.send({ op: "jobs" });
      for (const [jobId, subscription] of this.subscriptions) {
        this.send({ op: "subscribe", job_id: jobId, since: subscription.lastSeq });
      }
      this.setStatus("open");
    };
    socket.onmessage = (message) => this.receive(message.data);
    socket.onerror = () => {
      // onclose follows and reconnects
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (!this.stopped) this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    this.setStatus("reconnecting");
    const delay = this.options.backoff(this.attempt);
    this.attempt += 1;
    this.timer = this.options.setTimer(() => {
      this.timer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }

  private send(message: Record<string, unknown>): void {
    // Before the socket is open nothing is lost: onopen sends every subscription with its last seq.
    if (this.socket && this.socket.readyState === OPEN) this.socket.send(JSON.stringify(message));
  }

  private receive(raw: unknown): void {
    if (typeof raw !== "string") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return;
    }
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    for (const message of messages) {
      if (typeof message === "object" && message !== null) this.handle(message as Record<string, unknown>);
    }
  }

  private handle(message: Record<string, unknown>): void {
    switch (message.type) {
      case "event": {
        const subscription = this.subscriptions.get(String(message.job_id));
        const event = message.event as JobEvent | undefined;
        if (!subscription || !event || typeof event.seq !== "number") return;
        if (event.seq <= subscription.lastSeq) return; // already delivered (a replay overlapping live events)
        subscription.lastSeq = event.seq;
        for (const listener of [...subscription.listeners]) listener(event);
        return;
      }
      case "job":
      case "subscribed": {
        const job = message.job as Job | undefined;
        if (job && typeof job.id === "string") for (const listener of [...this.jobListeners]) listener(job);
        return;
      }
      case "resync": {
        // The server dropped messages for a slow client: ask again from the last delivered event.
        const jobId = String(message.job_id);
        const subscription = this.subscriptions.get(jobId);
        if (subscription) this.send({ op: "subscribe", job_id: jobId, since: subscription.lastSeq });
        return;
      }
      default:
        return;
    }
  }

  private setStatus(status: SocketStatus): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    for (const listener of [...this.statusListeners]) listener(status);
  }
}
