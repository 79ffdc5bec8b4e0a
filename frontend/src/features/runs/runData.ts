// A training run's events folded into what the run monitor shows: the loss and learning-rate series, the
// samples, the log, the saved files and the latest progress. Events may arrive twice (the history and the
// socket overlap, a reconnect replays) or early (a live event before the history that precedes it): each
// sequence number is applied once, in order, so a chart never repeats or drops a point.
import type { JobEvent } from "@/api/jobs";
import { describeEvent, type LogLine } from "@/lib/eventWords";

export type { LogLine };

export interface Sample {
  step: number;
  prompt: string;
  /** Workspace-relative path, as the trainer reported it. */
  path: string;
  /** The file name (what GET /api/jobs/{id}/samples/{name} wants). */
  name: string;
  seq: number;
}

export interface SavedFile {
  path: string;
  step: number | null;
  epoch: number | null;
  kind: string;
}

export interface Latest {
  step: number | null;
  totalSteps: number | null;
  epoch: number | null;
  totalEpochs: number | null;
  loss: number | null;
  avgLoss: number | null;
  itS: number | null;
  etaS: number | null;
  status: string | null;
  message: string | null;
}

const num = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);
const text = (value: unknown): string => (typeof value === "string" ? value : "");

export class RunData {
  /** The last sequence number applied: every event up to it is in. */
  lastSeq = 0;
  /** Changes each time something is applied (for React's useSyncExternalStore). */
  version = 0;
  readonly steps: number[] = [];
  readonly loss: number[] = [];
  readonly avgLoss: number[] = [];
  readonly lrGroups: string[] = [];
  /** One array per learning-rate group (same length as `steps`; null where a step lacked the group). */
  readonly lr: (number | null)[][] = [];
  readonly samples: Sample[] = [];
  readonly files: SavedFile[] = [];
  readonly log: LogLine[] = [];
  readonly latest: Latest = {
    step: null, totalSteps: null, epoch: null, totalEpochs: null, loss: null, avgLoss: null, itS: null, etaS: null,
    status: null, message: null,
  };
  private readonly pending = new Map<number, JobEvent>();
  private readonly listeners = new Set<() => void>();

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getVersion = (): number => this.version;

  /** Whether events after `lastSeq` arrived before the one that follows it (a gap to fill from the history). */
  get hasGap(): boolean {
    return this.pending.size > 0;
  }

  /**
   * Take events in any order, with repeats. Those that follow `lastSeq` without a gap are applied; later ones
   * wait for the gap to be filled. `complete` says the batch holds every event after `lastSeq` that exists
   * (an answer of GET /events?since=lastSeq): then a gap that remains is a hole in the log, not a delay, and is
   * skipped.
   */
  add(events: readonly JobEvent[], { complete = false }: { complete?: boolean } = {}): void {
    let upTo = this.lastSeq;
    for (const event of events) {
      if (typeof event.seq === "number" && event.seq > this.lastSeq) this.pending.set(event.seq, event);
      if (typeof event.seq === "number") upTo = Math.max(upTo, event.seq);
    }
    let changed = false;
    while (this.pending.size) {
      let next = this.pending.get(this.lastSeq + 1);
      if (!next && complete) {
        // A hole inside a complete answer is a line the log lost: go on after it (but never past the answer).
        const first = Math.min(...this.pending.keys());
        if (first <= upTo) next = this.pending.get(first);
      }
      if (!next) break;
      this.pending.delete(next.seq);
      this.apply(next);
      this.lastSeq = next.seq;
      changed = true;
    }
    if (changed) {
      this.version += 1;
      for (const listener of [...this.listeners]) listener();
    }
  }

  private apply(event: JobEvent): void {
    const d = event.data;
    const latest = this.latest;
    switch (event.type) {
      case "step": {
        const step = num(d.step);
        if (step === null) break;
        latest.step = step;
        latest.totalSteps = num(d.total_steps) ?? latest.totalSteps;
        latest.epoch = num(d.epoch) ?? latest.epoch;
        latest.loss = num(d.loss);
        latest.avgLoss = num(d.avg_loss);
        latest.itS = num(d.it_s);
        latest.etaS = num(d.eta_s);
        this.steps.push(step);
        this.loss.push(num(d.loss) ?? NaN);
        this.avgLoss.push(num(d.avg_loss) ?? NaN);
        const lr = (typeof d.lr === "object" && d.lr !== null ? d.lr : typeof d.lr === "number" ? { lr: d.lr } : {}) as Record<
          string,
          unknown
        >;
        for (const group of Object.keys(lr)) {
          if (!this.lrGroups.includes(group)) {
            this.lrGroups.push(group);
            this.lr.push(new Array<number | null>(this.steps.length - 1).fill(null));
          }
        }
        this.lrGroups.forEach((group, i) => this.lr[i]!.push(num(lr[group])));
        return;
      }
      case "epoch":
        latest.epoch = num(d.epoch) ?? latest.epoch;
        latest.totalEpochs = num(d.total_epochs) ?? latest.totalEpochs;
        break;
      case "status":
        latest.status = text(d.state) || latest.status;
        latest.message = text(d.message) || latest.message;
        break;
      case "sample": {
        const path = text(d.path);
        if (path) {
          this.samples.push({ step: num(d.step) ?? 0, prompt: text(d.prompt), path, name: path.split(/[\\/]/).pop() ?? path, seq: event.seq });
        }
        break;
      }
      case "checkpoint":
        if (text(d.path)) this.files.push({ path: text(d.path), step: num(d.step), epoch: num(d.epoch), kind: text(d.kind) || "lora" });
        break;
      case "result":
        if (text(d.lora) && !this.files.some((f) => f.path === d.lora)) {
          this.files.push({ path: text(d.lora), step: num(d.steps), epoch: null, kind: "lora" });
        }
        break;
      default:
        break;
    }
    const line = describeEvent(event);
    if (line && line.text) this.log.push({ ...line, seq: event.seq, time: event.time });
  }
}

/** Debiased exponential moving average (TensorBoard's smoothing): `weight` 0 = raw, 0.99 = very smooth. */
export function smooth(values: readonly number[], weight: number, into: number[] = []): number[] {
  into.length = 0;
  let ema = 0;
  let count = 0;
  for (const value of values) {
    if (!Number.isFinite(value)) {
      into.push(NaN);
      continue;
    }
    count += 1;
    ema = ema * weight + (1 - weight) * value;
    into.push(weight > 0 ? ema / (1 - weight ** count) : value);
  }
  return into;
}

/** Samples grouped by step, newest step first. */
export function samplesByStep(samples: readonly Sample[]): { step: number; samples: Sample[] }[] {
  const groups = new Map<number, Sample[]>();
  for (const sample of samples) {
    const group = groups.get(sample.step) ?? [];
    group.push(sample);
    groups.set(sample.step, group);
  }
  return [...groups.entries()].sort((a, b) => b[0] - a[0]).map(([step, list]) => ({ step, samples: list }));
}
