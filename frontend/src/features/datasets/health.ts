/** Reading health reports: the latest check of each dataset and a one-line summary of it. */
import type { HealthFinding, HealthReport, Job } from "./types";

export const SEVERITY: Record<HealthFinding["severity"], { icon: string; word: string; order: number; color: string }> = {
  error: { icon: "✗", word: "Problem", order: 0, color: "red" },
  warning: { icon: "!", word: "Warning", order: 1, color: "orange" },
  info: { icon: "i", word: "Note", order: 2, color: "blue" },
};

export const FIX_LABELS: Record<string, string> = {
  "trash-unreadable": "Move them to the trash",
  "to-rgb": "Convert to RGB (originals to the trash)",
  "rename-duplicate-stems": "Rename so each has its own caption",
  "create-empty-captions": "Create empty captions",
  "captions-to-utf8": "Convert the captions to UTF-8",
  "add-trigger-word": "Put the trigger word first",
  "trash-duplicates": "Keep one of each, trash the rest",
};

/** The newest finished health check of each dataset (by name), from the job list. */
export function latestHealth(jobs: Job[] | undefined): Map<string, { job: Job; report: HealthReport }> {
  const out = new Map<string, { job: Job; report: HealthReport }>();
  for (const job of [...(jobs ?? [])].sort((a, b) => b.created_at - a.created_at)) {
    if (job.kind !== "health" || job.state !== "completed" || !job.result) continue;
    const dataset = String(job.params.dataset ?? "").replace(/^datasets\//, "");
    if (dataset && !out.has(dataset)) out.set(dataset, { job, report: job.result as unknown as HealthReport });
  }
  return out;
}

export function healthSummary(report: HealthReport | undefined): { icon: string; words: string; color: string } {
  if (!report) return { icon: "?", words: "Not checked yet", color: "gray" };
  const count = (s: string) => report.findings.filter((f) => f.severity === s).length;
  const errors = count("error");
  const warnings = count("warning");
  if (errors) return { icon: "✗", words: `${errors} ${errors === 1 ? "problem" : "problems"}`, color: "red" };
  if (warnings) return { icon: "!", words: `${warnings} ${warnings === 1 ? "warning" : "warnings"}`, color: "orange" };
  return { icon: "✓", words: "Healthy", color: "green" };
}

export function sortedFindings(findings: HealthFinding[]): HealthFinding[] {
  return [...findings].sort((a, b) => SEVERITY[a.severity].order - SEVERITY[b.severity].order);
}

/** "datasets/cats/10_cat/a.png" -> "10_cat/a.png" */
export function inDataset(dataset: string, path: string): string {
  const prefix = `datasets/${dataset}/`;
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}
