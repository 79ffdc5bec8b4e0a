/** The shapes the Datasets page reads from the API (see src/lorakit/web/routes/datasets.py). */

export interface DatasetInfo {
  name: string;
  path: string;
  images: number;
}

export interface ImageItem {
  /** Relative to the dataset folder. */
  path: string;
  /** null: no caption file. */
  caption: string | null;
  /** Send it back when saving ("missing" for a new caption). */
  version: string;
  caption_error?: string | null;
}

export interface ImagePage {
  dataset: string;
  total: number;
  offset: number;
  items: ImageItem[];
}

export interface Caption {
  path: string;
  text: string;
  version: string;
}

export interface TagEditReport {
  journal_id: string | null;
  changed: string[];
  conflicts: string[];
  matched: number;
  skipped: Record<string, string>;
}

export interface HealthFinding {
  kind: string;
  severity: "error" | "warning" | "info";
  title: string;
  fix: string;
  files: string[];
  fix_id: string | null;
  data: Record<string, unknown>;
}

export interface FixResult {
  fix_id: string;
  changed: string[];
  journal_id: string | null;
  trashed: string[];
  message: string;
}

export interface HealthReport {
  folder: string;
  images: number;
  readable: number;
  ok: boolean;
  findings: HealthFinding[];
  steps?: Record<string, number>;
  fixes?: FixResult[];
}

export interface DuplicateGroup {
  keeper: string;
  duplicates: string[];
  distance: number;
}

export interface DedupReport {
  images: number;
  groups: DuplicateGroup[];
  duplicates: number;
}

export type JobState = "queued" | "running" | "completed" | "stopped" | "failed" | "cancelled" | "interrupted";

export interface Job {
  id: string;
  kind: string;
  title: string;
  params: Record<string, unknown>;
  state: JobState;
  created_at: number;
  finished_at?: number | null;
  error?: { code?: string; message: string; fix?: string | null; field?: string | null } | null;
  result?: Record<string, unknown> | null;
}

export interface JobEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  time: number;
}

export interface TrashEntry {
  id: string;
  original_path: string;
  name?: string;
}

export interface ModelEntry {
  path: string;
  name?: string;
  kind?: string;
}

export const FINISHED_STATES: ReadonlySet<string> = new Set(["completed", "stopped", "failed", "cancelled", "interrupted"]);

export interface HistoryEntry {
  id: string;
  time: number;
  description: string;
  files: number;
}
