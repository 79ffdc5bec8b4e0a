// Job states and progress, shared by the job tray and the pages that start jobs.
import type { Job, JobEvent } from "./jobsSocket";

export type { Job, JobEvent };
export const ACTIVE_STATES = ["queued", "running"] as const;
export const FINISHED_STATES = ["completed", "stopped", "failed", "cancelled", "interrupted"] as const;

export function isActive(job: Pick<Job, "state">): boolean {
  return (ACTIVE_STATES as readonly string[]).includes(job.state);
}

/** Words for a state (never colour alone). */
export const STATE_WORDS: Record<string, string> = {
  queued: "Waiting",
  running: "Running",
  completed: "Done",
  stopped: "Stopped",
  failed: "Failed",
  cancelled: "Cancelled",
  interrupted: "Interrupted",
};

export interface Progress {
  /** 0..1, or null when the total is unknown. */
  fraction: number | null;
  /** "12 / 40 steps", "Step 300 of 1,000 · loss 0.0812". */
  label: string;
  etaS: number | null;
}

const num = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);

/** Progress from a `progress` (done/total/unit) or training `step` (step/total_steps/loss) event. */
export function progressFromEvent(event: JobEvent): Progress | null {
  const data = event.data;
  if (event.type === "progress") {
    const done = num(data.done);
    const total = num(data.total);
    if (done === null) return null;
    const unit = typeof data.unit === "string" && data.unit ? ` ${data.unit}${total === 1 ? "" : "s"}` : "";
    return {
      fraction: total ? Math.min(1, done / total) : null,
      label: total ? `${done.toLocaleString()} / ${total.toLocaleString()}${unit}` : `${done.toLocaleString()}${unit}`,
      etaS: num(data.eta_s),
    };
  }
  if (event.type === "step") {
    const step = num(data.step);
    const total = num(data.total_steps);
    if (step === null) return null;
    const loss = num(data.avg_loss) ?? num(data.loss);
    return {
      fraction: total ? Math.min(1, step / total) : null,
      label:
        `Step ${step.toLocaleString()}${total ? ` of ${total.toLocaleString()}` : ""}` +
        (loss !== null ? ` · loss ${loss.toFixed(4)}` : ""),
      etaS: num(data.eta_s),
    };
  }
  return null;
}

export function formatEta(seconds: number | null): string | null {
  if (seconds === null || seconds < 0) return null;
  if (seconds < 60) return `${Math.ceil(seconds)} s left`;
  if (seconds < 3600) return `${Math.ceil(seconds / 60)} min left`;
  return `${Math.floor(seconds / 3600)} h ${Math.ceil((seconds % 3600) / 60)} min left`;
}

export function jobTitle(job: Pick<Job, "title" | "kind" | "id">): string {
  return job.title || `${job.kind.charAt(0).toUpperCase()}${job.kind.slice(1)} job`;
}
