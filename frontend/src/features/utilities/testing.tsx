// Test helpers of the Utilities feature: render inside the app's providers with a fake /ws, stub the API.
import type { ReactElement } from "react";
import { vi } from "vitest";
import { JobsSocketProvider } from "@/api/jobsSocketContext";
import { fakeJobsSocket } from "@/test/fakeSocket";
import { json, mockFetch, route, type Handler } from "@/test/fetchMock";
import { renderWithProviders } from "@/test/render";
import type { InspectReport, Job } from "./types";

// Forms with many fields take a few seconds in jsdom on a busy machine.
vi.setConfig({ testTimeout: 30_000 });

export function renderTool(ui: ReactElement, { url = "/utilities", handlers = [] as Handler[] } = {}) {
  const fetched = mockFetch(...handlers);
  const sockets = fakeJobsSocket();
  const rendered = renderWithProviders(<JobsSocketProvider socket={sockets.socket}>{ui}</JobsSocketProvider>, { route: url });
  return { ...rendered, ...fetched, sockets };
}

/** The JSON body of the first request to `path` (by method). */
export async function bodyOf(calls: Request[], method: string, path: string): Promise<unknown> {
  const request = calls.find((r) => r.method === method && new URL(r.url).pathname === path);
  if (!request) throw new Error(`no ${method} ${path} among ${calls.map((r) => `${r.method} ${new URL(r.url).pathname}`).join(", ")}`);
  return request.clone().json();
}

export function job(overrides: Partial<Job> = {}): Job {
  return {
    id: "j1",
    kind: "resize",
    title: "Resize models/loras/mira.safetensors",
    params: {},
    state: "queued",
    gpu: true,
    created_at: 1,
    started_at: null,
    finished_at: null,
    pid: null,
    pid_started: null,
    run_dir: null,
    error: null,
    result: null,
    cancel_requested: false,
    retry_of: null,
    resume_of: null,
    resumable: false,
    ...overrides,
  } as Job;
}

/** POST `path` answers a queued job; GET /api/jobs/<id> answers `final` (e.g. completed with a result). */
export function jobHandlers(path: string, final: Partial<Job>): Handler[] {
  const started = job({ ...final, state: "queued", result: null, error: null });
  return [
    route("POST", path, () => json(started, 201)),
    route("GET", `/api/jobs/${started.id}`, () => json(job({ ...final }))),
  ];
}

export const REPORT: InspectReport = {
  path: "models/loras/mira.safetensors",
  file_size: 1_234_567,
  layout: "kohya",
  family: "sd1",
  variant: null,
  base_label: "SD 1.x",
  base_source: "metadata",
  network: "lora",
  modules: [
    { name: "lora_te_text_model_encoder_layers_0_mlp_fc1", part: "te", layer: "linear", network: "lora", rank: 8, alpha: 4, strength: 0.3 },
    { name: "lora_unet_mid_block_attentions_0_proj_in", part: "unet", layer: "linear", network: "lora", rank: 8, alpha: 4, strength: 1.2 },
    { name: "lora_unet_down_blocks_1_attentions_0_proj_in", part: "unet", layer: "linear", network: "lora", rank: 4, alpha: 4, strength: 0.5 },
  ],
  blocks: [
    { block: "TE L00", order: 0, part: "te", modules: 1, min_rank: 8, max_rank: 8, mean_rank: 8, strength: 0.3 },
    { block: "IN04", order: 104, part: "unet", modules: 1, min_rank: 4, max_rank: 4, mean_rank: 4, strength: 0.5 },
    { block: "MID", order: 200, part: "unet", modules: 1, min_rank: 8, max_rank: 8, mean_rank: 8, strength: 1.2 },
  ],
  parts: { te: 1, unet: 2 },
  ranks: { "4": 1, "8": 2 },
  alphas: { "4": 3 },
  conv_modules: 0,
  training: { "learning rate": "0.0001", "steps done": "120" },
  trigger_words: ["mira"],
  top_tags: [
    { tag: "mira", count: 12 },
    { tag: "red hair", count: 9 },
  ],
  dataset_dirs: { "10_mira": { n_repeats: 10, img_count: 12 } },
  modelspec: {},
  hashes: { sha256: "abc123", sshs_model_hash: null },
  metadata: { ss_learning_rate: "0.0001", ss_tag_frequency: "{...}" },
  unknown_keys: [],
  text_encoder_trained: true,
};

/** Replace a field's text at once (typing long paths key by key is slow on a busy machine). */
export async function fill(user: { clear: (e: Element) => Promise<void>; click: (e: Element) => Promise<void>; paste: (t: string) => Promise<void> }, element: HTMLElement, text: string) {
  await user.clear(element);
  await user.click(element);
  await user.paste(text);
}
