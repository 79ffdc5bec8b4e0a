// Plain words for the Jobs page: times, durations, results; and its filter.
import type { Job } from "@/api/jobs";

export function formatTime(seconds: number | null | undefined): string {
  if (!seconds) return "–";
  const date = new Date(seconds * 1000);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}

export function formatDuration(job: Pick<Job, "started_at" | "finished_at" | "state">, now = Date.now() / 1000): string {
  if (!job.started_at) return job.state === "queued" ? "Waiting" : "–";
  const seconds = Math.max(0, (job.finished_at ?? now) - job.started_at);
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** What a job ended with, in a line: its error, its LoRA, or the keys of its result. */
export function resultSummary(job: Job): string {
  if (job.error && typeof job.error.message === "string") return job.error.message;
  const result = job.result;
  if (!result) return job.state === "interrupted" ? "Interrupted before it finished." : "–";
  if (typeof result.lora === "string") return result.lora;
  if (result.stopped) return `Stopped at step ${String(result.steps ?? "?")}${result.saved ? " (state saved)" : ""}`;
  const parts = Object.entries(result)
    .filter(([, v]) => ["string", "number", "boolean"].includes(typeof v))
    .slice(0, 3)
    .map(([k, v]) => `${k}: ${String(v)}`);
  return parts.join(", ") || "Done";
}

export interface JobFilter {
  states: string[];
  kind: string | null;
  text: string;
}

export function filterJobs(jobs: readonly Job[], { states, kind, text }: JobFilter): Job[] {
  const needle = text.trim().toLowerCase();
  return jobs.filter(
    (job) =>
      (!states.length || states.includes(job.state)) &&
      (!kind || job.kind === kind) &&
      (!needle || `${job.title} ${job.id} ${job.kind}`.toLowerCase().includes(needle)),
  );
}
