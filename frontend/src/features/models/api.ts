// Server state of the Models page: the library, download jobs and their progress, service tokens.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { api, unwrap, type components } from "@/api/client";
import { JOBS_KEY, useJobEvents } from "@/api/jobsSocketContext";

export type LibraryEntry = components["schemas"]["LibraryEntryOut"];
export type ModelInfo = components["schemas"]["ModelInfoOut"];
export type Job = components["schemas"]["Job"];
export type Credential = components["schemas"]["CredentialOut"];
export type Service = "civitai" | "huggingface";

export const keys = {
  library: ["models", "library"] as const,
  // Under "jobs": the app refreshes it whenever a job changes state (and after the socket reconnects).
  downloads: [...JOBS_KEY, "downloads"] as const,
  credentials: ["settings", "credentials"] as const,
};

const ACTIVE = new Set(["queued", "running"]);
export const isActive = (job: Job) => ACTIVE.has(job.state);

export function useLibrary() {
  return useQuery({ queryKey: keys.library, queryFn: () => unwrap(api.GET("/api/models")) });
}

/** The newest download jobs (refreshed live: see keys.downloads). */
export function useDownloads() {
  const client = useQueryClient();
  const query = useQuery({
    queryKey: keys.downloads,
    queryFn: () => unwrap(api.GET("/api/jobs", { params: { query: { kind: "download", limit: 8 } } })),
  });
  // A download that just finished changes the library.
  const finished = (query.data ?? []).filter((job) => job.state === "completed").map((job) => job.id).join(",");
  const seen = useRef<string | null>(null);
  useEffect(() => {
    if (seen.current !== null && seen.current !== finished) void client.invalidateQueries({ queryKey: keys.library });
    seen.current = finished;
  }, [finished, client]);
  return query;
}

export function useStartDownload() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (link: string) => unwrap(api.POST("/api/models/download", { body: { link } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.downloads }),
  });
}

/** Pause (the job keeps what it has), resume (a new job that goes on from there), or cancel. */
export function useDownloadActions() {
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: keys.downloads });
  const pause = useMutation({
    mutationFn: (id: string) =>
      unwrap(api.POST("/api/jobs/{job_id}/command", { params: { path: { job_id: id } }, body: { command: "stop" } })),
    onSuccess: refresh,
  });
  const resume = useMutation({
    mutationFn: (id: string) => unwrap(api.POST("/api/jobs/{job_id}/retry", { params: { path: { job_id: id } } })),
    onSuccess: refresh,
  });
  return { pause, resume };
}

export interface Progress {
  done: number;
  total: number | null;
  rate: number | null;
  etaS: number | null;
  file: string | null;
  message: string | null;
}

/** The latest progress of a running job, live from its events over /ws (the app's one socket). */
export function useJobProgress(jobId: string, running: boolean): Progress | null {
  const [progress, setProgress] = useState<Progress | null>(null);
  useJobEvents(running ? jobId : null, (event) => {
    const data = event.data;
    if (event.type === "progress" && typeof data.done === "number") {
      setProgress({
        done: data.done,
        total: typeof data.total === "number" ? data.total : null,
        rate: typeof data.rate === "number" ? data.rate : null,
        etaS: typeof data.eta_s === "number" ? data.eta_s : null,
        file: typeof data.file === "string" ? data.file : null,
        message: null,
      });
    } else if (event.type === "status" && typeof data.message === "string") {
      const message = data.message;
      setProgress((p) => (p ? { ...p, message } : { done: 0, total: null, rate: null, etaS: null, file: null, message }));
    }
  });
  return progress;
}

export function useCredentials() {
  return useQuery({ queryKey: keys.credentials, queryFn: () => unwrap(api.GET("/api/settings/credentials")) });
}

export function useTokenActions() {
  const client = useQueryClient();
  const update = (saved: Credential) =>
    client.setQueryData<Credential[]>(keys.credentials, (list) =>
      (list ?? [saved]).map((c) => (c.service === saved.service ? saved : c)),
    );
  const save = useMutation({
    mutationFn: ({ service, token }: { service: Service; token: string }) =>
      unwrap(api.PUT("/api/settings/credentials/{service}", { params: { path: { service } }, body: { token } })),
    onSuccess: update,
  });
  const clear = useMutation({
    mutationFn: (service: Service) =>
      unwrap(api.DELETE("/api/settings/credentials/{service}", { params: { path: { service } } })),
    onSuccess: update,
  });
  return { save, clear };
}
