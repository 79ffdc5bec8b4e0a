// What the Utilities API answers (GET /api/lora/inspect is untyped in the schema: its fields are written here).
import type { components } from "@/api/client";

export type Job = components["schemas"]["Job"];
export type ResizeBody = components["schemas"]["ResizeParams"];
export type MergeBody = components["schemas"]["MergeParams"];
export type ConvertBody = components["schemas"]["ConvertParams"];
export type ExtractBody = components["schemas"]["ExtractParams"];
export type BakeBody = components["schemas"]["BakeParams"];
export type UploadBody = components["schemas"]["UploadParams"];
export type Entry = components["schemas"]["Entry"];

export interface ModuleInfo {
  name: string;
  part: string;
  layer: string;
  network: string;
  rank: number;
  alpha: number;
  strength: number | null;
}

export interface BlockInfo {
  block: string;
  order: number;
  part: string;
  modules: number;
  min_rank: number;
  max_rank: number;
  mean_rank: number;
  strength: number | null;
}

export interface InspectReport {
  path: string;
  file_size: number;
  layout: string;
  family: string | null;
  variant: string | null;
  base_label: string;
  base_source: string | null;
  network: string | null;
  modules: ModuleInfo[];
  blocks: BlockInfo[];
  parts: Record<string, number>;
  ranks: Record<string, number>;
  alphas: Record<string, number>;
  conv_modules: number;
  training: Record<string, string>;
  trigger_words: string[];
  top_tags: { tag: string; count: number }[];
  dataset_dirs: Record<string, unknown>;
  modelspec: Record<string, string>;
  hashes: Record<string, string | null>;
  metadata: Record<string, string>;
  unknown_keys: string[];
  text_encoder_trained: boolean;
}

export interface ModuleResize {
  name: string;
  old_rank: number;
  new_rank: number;
  retained_fro: number;
  note: string;
}

/** A resize job's result (and a merge's `resize` when it compressed). */
export interface ResizeReport {
  output?: string;
  method: string;
  value: number | null;
  max_rank: number | null;
  mean_rank: number;
  mean_retained_fro: number;
  min_retained_fro: number;
  modules: ModuleResize[];
}

export type Method = "fixed" | "sv_ratio" | "sv_fro" | "sv_cumulative";
export type Precision = "fp16" | "bf16" | "fp32";
