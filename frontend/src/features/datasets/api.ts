/**
 * The Datasets page's calls to the server. Each function is plain (no React) so components can take them as
 * props and tests can pass fakes. Plain fetch rather than the typed client: these routes answer with the core's
 * report dicts, which the OpenAPI schema leaves untyped; the shapes are in ./types.
 */
import { ApiError, notifyUnauthorized, toApiError } from "@/api/client";

import { takePrefetched } from "./prefetch";
import type {
  Caption,
  DatasetInfo,
  HistoryEntry,
  ImagePage,
  Job,
  ModelEntry,
  TagEditReport,
  TrashEntry,
} from "./types";

export function isConflict(error: unknown): boolean {
  return error instanceof ApiError && error.status === 409;
}

/** A JSON call; a failure is the shell's ApiError with the server's message and fix (401 opens the token page). */
async function request<T>(url: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    // A plain GET index.html's early script already made (the first screen of the page) is not asked again.
    response = (!init && (await takePrefetched(url))) || (await fetch(url, { credentials: "same-origin", ...init }));
  } catch {
    throw toApiError(0, null);
  }
  if (!response.ok) {
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      /* not JSON: toApiError says it in plain words */
    }
    const error = toApiError(response.status, body);
    if (error.needsToken) notifyUnauthorized(error);
    throw error;
  }
  return (await response.json()) as T;
}

function post<T>(url: string, body: unknown): Promise<T> {
  return request<T>(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

const ds = (name: string) => `/api/datasets/${encodeURIComponent(name)}`;
const q = (params: Record<string, string | number>) =>
  new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();

export const thumbnailUrl = (dataset: string, path: string) => `${ds(dataset)}/thumbnail?${q({ path })}`;

export const datasetApi = {
  list: () => request<DatasetInfo[]>("/api/datasets"),
  images: (name: string, offset: number, limit: number) =>
    request<ImagePage>(`${ds(name)}/images?${q({ offset, limit })}`),
  loadCaption: (name: string, path: string) => request<Caption>(`${ds(name)}/caption?${q({ path })}`),
  saveCaption: (name: string, path: string, text: string, version: string) =>
    request<Caption>(`${ds(name)}/caption?${q({ path })}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text, version }),
    }),
  editTags: (name: string, body: Record<string, unknown>) => post<TagEditReport>(`${ds(name)}/tags`, body),
  history: (name: string) => request<HistoryEntry[]>(`${ds(name)}/history`),
  undo: (name: string, entry: string) => post<unknown[]>(`${ds(name)}/undo`, { count: 1, entry }),
  health: (name: string, body: Record<string, unknown>) => post<Job>(`${ds(name)}/health`, body),
  dedup: (name: string, body: Record<string, unknown>) => post<Job>(`${ds(name)}/dedup`, body),
  tag: (name: string, body: Record<string, unknown>) => post<Job>(`${ds(name)}/tag`, body),
  caption: (name: string, body: Record<string, unknown>) => post<Job>(`${ds(name)}/caption`, body),
  taggers: () => request<ModelEntry[]>("/api/models?folder=taggers"),
  jobs: (kind: string) => request<Job[]>(`/api/jobs?${q({ kind })}`),
  job: (id: string) => request<Job>(`/api/jobs/${encodeURIComponent(id)}`),
  cancelJob: (id: string) => post<Job>(`/api/jobs/${encodeURIComponent(id)}/cancel`, {}),
  trash: (paths: string[]) => post<TrashEntry[]>("/api/files/delete", { paths }),
  restore: (id: string) => post<unknown>(`/api/files/trash/${encodeURIComponent(id)}/restore`, {}),
  /** One file into the dataset, in chunks of up to 32 MiB (the server takes up to 64). */
  upload: async (path: string, file: Blob, onBytes?: (sent: number) => void) => {
    const chunk = 32 * 1024 * 1024;
    let offset = 0;
    do {
      const part = file.slice(offset, offset + chunk);
      await request(`/api/files/upload?${q({ path, offset, total: file.size })}`, {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream" },
        body: part,
      });
      offset += part.size;
      onBytes?.(offset);
    } while (offset < file.size);
  },
};

export type DatasetApi = typeof datasetApi;
