// Server state of the Jobs page: the list (refreshed on every job change), one job's events, the actions.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, unwrap } from "@/api/client";
import type { Job, JobEvent } from "@/api/jobs";
import { JOBS_KEY, useJobEvents } from "@/api/jobsSocketContext";
import { describeEvent, type LogLine } from "@/lib/eventWords";

export const LIST_KEY = [...JOBS_KEY, "all"] as const;

export function useAllJobs() {
  return useQuery({ queryKey: LIST_KEY, queryFn: () => unwrap(api.GET("/api/jobs", { params: { query: { limit: 1000 } } })) });
}

export function useKinds() {
  return useQuery({ queryKey: ["jobs-kinds"], queryFn: () => unwrap(api.GET("/api/jobs/kinds")), staleTime: Infinity });
}

type Action = "cancel" | "retry" | "resume";

export function useJobAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ job, action }: { job: Job; action: Action }) => {
      const params = { params: { path: { job_id: job.id } } };
      if (action === "cancel") return unwrap(api.POST("/api/jobs/{job_id}/cancel", params));
      if (action === "retry") return unwrap(api.POST("/api/jobs/{job_id}/retry", params));
      return unwrap(api.POST("/api/jobs/{job_id}/resume", params));
    },
    onSettled: () => void client.invalidateQueries({ queryKey: JOBS_KEY }),
  });
}

/** A job's events as log lines: the history, then live ones (each sequence number once). */
export function useJobLog(jobId: string) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [seen] = useState(() => ({ last: 0, loaded: false, early: [] as JobEvent[] }));
  const push = (events: JobEvent[]) => {
    const fresh = events.filter((e) => e.seq > seen.last).sort((a, b) => a.seq - b.seq);
    if (!fresh.length) return;
    seen.last = fresh[fresh.length - 1]!.seq;
    const next: LogLine[] = [];
    for (const event of fresh) {
      const line = describeEvent(event);
      if (line && line.text) next.push({ ...line, seq: event.seq, time: event.time });
    }
    if (next.length) setLines((all) => [...all, ...next]);
  };
  useEffect(() => {
    let cancelled = false;
    unwrap(api.GET("/api/jobs/{job_id}/events", { params: { path: { job_id: jobId }, query: { since: 0, limit: 100_000 } } }))
      .then((events) => {
        if (cancelled) return;
        push(events as JobEvent[]);
        seen.loaded = true;
        push(seen.early.splice(0));
      })
      .catch((err) => !cancelled && setError(err));
    return () => {
      cancelled = true;
    };
  }, [jobId]); // eslint-disable-line react-hooks/exhaustive-deps
  useJobEvents(jobId, (event) => (seen.loaded ? push([event]) : seen.early.push(event)));
  return { lines, error };
}
