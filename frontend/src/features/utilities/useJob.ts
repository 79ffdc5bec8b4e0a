// Follow one job: its state from the job query (refreshed by the app's socket on every change, a slow poll
// covering a lost socket) and its progress live from its events over /ws.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { isActive, progressFromEvent, type Progress } from "@/api/jobs";
import { JOBS_KEY, useJobEvents } from "@/api/jobsSocketContext";
import { utilitiesApi } from "./api";
import type { Job } from "./types";

export interface FollowedJob {
  job: Job | undefined;
  progress: Progress | null;
  /** The latest status, log or warning line. */
  message: string | null;
  finished: boolean;
  error: unknown;
}

export function useFollowJob(id: string | null): FollowedJob {
  const query = useQuery({
    queryKey: [...JOBS_KEY, "utilities", id],
    enabled: !!id,
    queryFn: () => utilitiesApi.job(id!),
    refetchInterval: (q) => (q.state.data && !isActive(q.state.data) ? false : 2000),
  });
  const [live, setLive] = useState<{ id: string | null; progress: Progress | null; message: string | null }>({
    id: null,
    progress: null,
    message: null,
  });
  useJobEvents(id, (event) => {
    const progress = progressFromEvent(event);
    const text = event.data.message;
    const message =
      ["status", "log", "warning"].includes(event.type) && typeof text === "string" && text ? text : null;
    if (!progress && !message) return;
    setLive((before) => {
      const base = before.id === id ? before : { id, progress: null, message: null };
      return { id, progress: progress ?? base.progress, message: message ?? base.message };
    });
  });
  const job = query.data;
  const current = live.id === id ? live : { progress: null, message: null };
  return {
    job,
    progress: current.progress,
    message: current.message,
    finished: !!job && !isActive(job),
    error: query.error,
  };
}
