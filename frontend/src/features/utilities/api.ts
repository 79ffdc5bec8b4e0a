// The Utilities page's calls: inspect and the card preview answer at once; the tools start jobs.
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "@/api/client";
import type {
  BakeBody,
  ConvertBody,
  ExtractBody,
  InspectReport,
  Job,
  MergeBody,
  ResizeBody,
  UploadBody,
} from "./types";

export const utilitiesApi = {
  inspect: async (path: string): Promise<InspectReport> =>
    (await unwrap(api.GET("/api/lora/inspect", { params: { query: { path } } }))) as unknown as InspectReport,
  resize: (body: ResizeBody): Promise<Job> => unwrap(api.POST("/api/lora/resize", { body })),
  merge: (body: MergeBody): Promise<Job> => unwrap(api.POST("/api/lora/merge", { body })),
  convert: (body: ConvertBody): Promise<Job> => unwrap(api.POST("/api/lora/convert", { body })),
  extract: (body: ExtractBody): Promise<Job> => unwrap(api.POST("/api/lora/extract", { body })),
  bake: (body: BakeBody): Promise<Job> => unwrap(api.POST("/api/lora/bake", { body })),
  upload: (body: UploadBody): Promise<Job> => unwrap(api.POST("/api/lora/upload", { body })),
  card: (body: UploadBody) => unwrap(api.POST("/api/lora/card", { body })),
  job: (id: string): Promise<Job> => unwrap(api.GET("/api/jobs/{job_id}", { params: { path: { job_id: id } } })),
  cancel: (id: string) => unwrap(api.POST("/api/jobs/{job_id}/cancel", { params: { path: { job_id: id } } })),
  list: (path: string) => unwrap(api.GET("/api/files", { params: { query: { path } } })),
  credentials: () => unwrap(api.GET("/api/settings/credentials")),
};

export function useInspect(path: string | null) {
  return useQuery({
    queryKey: ["lora", "inspect", path],
    enabled: !!path,
    queryFn: () => utilitiesApi.inspect(path!),
    staleTime: 30_000,
  });
}

/** Whether a Hugging Face token is saved (upload needs one). */
export function useHuggingFaceToken() {
  return useQuery({
    queryKey: ["settings", "credentials"],
    queryFn: utilitiesApi.credentials,
    select: (list) => list.find((c) => c.service === "huggingface"),
  });
}
