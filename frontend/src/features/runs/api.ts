// Server state of the run monitor: the job, its events (history + live, each once), commands, runs to compare.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState, useSyncExternalStore } from "react";
import { api, unwrap, type ApiError } from "@/api/client";
import { asApiError } from "@/api/errors";
import type { Job, JobEvent } from "@/api/jobs";
import { JOBS_KEY, useJobsSocket } from "@/api/jobsSocketContext";
import { RunData } from "./runData";

export const PAGE = 100_000;

export const keys = {
  job: (id: string) => [...JOBS_KEY, "one", id] as const,
  trainJobs: [...JOBS_KEY, "train"] as const,
};

/** Every event of a job after `since` (page by page). */
export async function fetchEvents(jobId: string, since: number): Promise<JobEvent[]> {
  const all: JobEvent[] = [];
  let after = since;
  for (;;) {
    const page = (await unwrap(
      api.GET("/api/jobs/{job_id}/events", { params: { path: { job_id: jobId }, query: { since: after, limit: PAGE } } }),
    )) as JobEvent[];
    all.push(...page);
    if (page.length < PAGE) return all;
    after = page[page.length - 1]!.seq;
  }
}

export function useJob(jobId: string) {
  return useQuery({ queryKey: keys.job(jobId), queryFn: () => unwrap(api.GET("/api/jobs/{job_id}", { params: { path: { job_id: jobId } } })) });
}

/** Finished training runs (to compare with). */
export function useTrainJobs() {
  return useQuery({
    queryKey: keys.trainJobs,
    queryFn: () => unwrap(api.GET("/api/jobs", { params: { query: { kind: "train", limit: 200 } } })),
  });
}

/**
 * A job's events folded into a RunData, live. The history comes first (GET /events), then the socket from the
 * last sequence number, then the history again for what came in between; a gap (an event after one not yet
 * seen) or a reconnect asks the history for what is missing. RunData applies each sequence number once.
 */
export function useRunData(jobId: string, { live = true }: { live?: boolean } = {}) {
  const socket = useJobsSocket();
  const data = useMemo(() => new RunData(), [jobId]); // eslint-disable-line react-hooks/exhaustive-deps
  const [error, setError] = useState<ApiError | null>(null);
  const [loaded, setLoaded] = useState(false);
  useSyncExternalStore(data.subscribe, data.getVersion);
  useEffect(() => {
    let cancelled = false;
    let running: Promise<void> | null = null;
    let again = false;
    const fill = async (): Promise<void> => {
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        do {
          again = false;
          const events = await fetchEvents(jobId, data.lastSeq);
          if (cancelled) return;
          data.add(events, { complete: true });
        } while (again && !cancelled);
      })();
      try {
        await running;
        if (!cancelled) setError(null);
      } catch (err) {
        if (!cancelled) setError(asApiError(err));
      } finally {
        running = null;
      }
    };
    let off = () => {};
    let offStatus = () => {};
    void (async () => {
      await fill();
      if (cancelled) return;
      setLoaded(true);
      if (!live) return;
      off = socket.subscribe(
        jobId,
        (event) => {
          data.add([event]);
          if (data.hasGap) void fill();
        },
        data.lastSeq,
      );
      offStatus = socket.onStatus((status) => {
        if (status === "open") void fill();
      });
      await fill(); // what came between the history and the subscription
    })();
    return () => {
      cancelled = true;
      off();
      offStatus();
    };
  }, [jobId, data, socket, live]);
  return { data, error, loaded };
}

/** The earlier jobs a resumed run continues (oldest first), up to 20. */
export function useAncestors(job: Job | undefined) {
  return useQuery({
    queryKey: [...JOBS_KEY, "ancestors", job?.id ?? ""],
    enabled: Boolean(job?.resume_of),
    staleTime: Infinity,
    queryFn: async () => {
      const chain: Job[] = [];
      let id = job?.resume_of ?? null;
      while (id && chain.length < 20) {
        const earlier = await unwrap(api.GET("/api/jobs/{job_id}", { params: { path: { job_id: id } } }));
        chain.unshift(earlier);
        id = earlier.resume_of ?? null;
      }
      return chain;
    },
  });
}

export type Command = "stop" | "save" | "sample";

export function useCommand(jobId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (command: Command) =>
      unwrap(api.POST("/api/jobs/{job_id}/command", { params: { path: { job_id: jobId } }, body: { command } })),
    onSuccess: (job) => client.setQueryData(keys.job(jobId), job),
  });
}

export function useResume() {
  return useMutation({
    mutationFn: (jobId: string) => unwrap(api.POST("/api/jobs/{job_id}/resume", { params: { path: { job_id: jobId } } })),
  });
}

export function useCancel(jobId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/api/jobs/{job_id}/cancel", { params: { path: { job_id: jobId } } })),
    onSuccess: (job) => client.setQueryData(keys.job(jobId), job),
  });
}

export const sampleUrl = (jobId: string, name: string) =>
  `/api/jobs/${encodeURIComponent(jobId)}/samples/${encodeURIComponent(name)}`;
