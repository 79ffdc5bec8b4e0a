// The Files API as the page uses it (typed by the generated schema), and the upload transport.
import { api, toApiError, unwrap, type components } from "@/api/client";
import type { UploadState, UploadTransport } from "./uploadQueue";

export type Entry = components["schemas"]["Entry"];
export type Listing = components["schemas"]["Listing"];
export type TrashEntry = components["schemas"]["TrashEntry"];
export type Job = components["schemas"]["Job"];

export const filesApi = {
  list: (path: string) => unwrap(api.GET("/api/files", { params: { query: { path } } })),
  mkdir: (path: string) => unwrap(api.POST("/api/files/mkdir", { body: { path } })),
  rename: (path: string, name: string) => unwrap(api.POST("/api/files/rename", { body: { path, name } })),
  move: (paths: string[], to: string) => unwrap(api.POST("/api/files/move", { body: { paths, to } })),
  trash: (paths: string[]) => unwrap(api.POST("/api/files/delete", { body: { paths } })),
  listTrash: () => unwrap(api.GET("/api/files/trash")),
  restore: (item: Pick<TrashEntry, "id" | "trash">) =>
    unwrap(
      api.POST("/api/files/trash/{item_id}/restore", {
        params: { path: { item_id: item.id }, query: { trash: item.trash ?? "" } },
      }),
    ),
  /** Delete for good what every trash holds (the one place nothing can be undone: the page asks first). */
  emptyTrash: () => unwrap(api.POST("/api/files/trash/empty", {})),
  /** Start an import job: a ZIP (or folders, images) into a dataset folder. */
  importToDataset: async (sources: string[], to: string): Promise<Job> =>
    (await unwrap(api.POST("/api/files/import", { body: { sources, to } }))) as Job,
  job: (id: string) => unwrap(api.GET("/api/jobs/{job_id}", { params: { path: { job_id: id } } })),
};

export type FilesApi = typeof filesApi;

/** Where the browser downloads a file (the token cookie, if any, goes along). */
export function downloadUrl(path: string): string {
  return `/api/files/download?path=${encodeURIComponent(path)}`;
}

async function call<T = UploadState>(url: string, init: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...init });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw toApiError(0, null); // the server cannot be reached: the queue waits for it
  }
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) throw toApiError(response.status, body);
  return body as T;
}

/** Chunks go up as raw bytes (application/octet-stream), not through the JSON client. */
export const httpTransport: UploadTransport = {
  status: (path, signal) => call(`/api/files/upload?path=${encodeURIComponent(path)}`, { method: "GET", signal }),
  send: ({ path, offset, total, body, overwrite, signal }) => {
    const query = new URLSearchParams({ path, offset: String(offset), total: String(total) });
    if (overwrite) query.set("overwrite", "true");
    return call(`/api/files/upload?${query}`, {
      method: "POST",
      body,
      headers: { "Content-Type": "application/octet-stream" },
      signal,
    });
  },
  check: ({ path, offset, body, signal }) =>
    call<{ matches: boolean }>(`/api/files/upload/check?${new URLSearchParams({ path, offset: String(offset) })}`, {
      method: "POST",
      body,
      headers: { "Content-Type": "application/octet-stream" },
      signal,
    }),
};
