/** Server state of the Datasets page (TanStack Query): the image list, loaded page by page, and job following. */
import { useInfiniteQuery, useQuery, useQueryClient, type InfiniteData } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState } from "react";

import { progressFromEvent, type Progress } from "@/api/jobs";
import { useJobEvents } from "@/api/jobsSocketContext";

import { datasetApi } from "./api";
import { FIRST_PAGE } from "./firstRequests";
import { FINISHED_STATES, type ImageItem, type ImagePage, type Job } from "./types";

/** The first page is small so the first thumbnails come fast; the rest load behind it in larger pages. */
export { FIRST_PAGE };
export const NEXT_PAGE = 1000;

export const imagesKey = (name: string) => ["datasets", name, "images"] as const;
export const historyKey = (name: string) => ["datasets", name, "history"] as const;

export function useDatasets() {
  return useQuery({ queryKey: ["datasets"], queryFn: datasetApi.list });
}

/** Every image of a dataset with its caption: the first page at once, the others in the background. */
export function useDatasetImages(name: string | null) {
  const query = useInfiniteQuery({
    queryKey: imagesKey(name ?? ""),
    enabled: !!name,
    initialPageParam: 0,
    queryFn: ({ pageParam }) => datasetApi.images(name!, pageParam, pageParam === 0 ? FIRST_PAGE : NEXT_PAGE),
    getNextPageParam: (last: ImagePage) => {
      const next = last.offset + last.items.length;
      return next < last.total && last.items.length > 0 ? next : undefined;
    },
  });
  const { hasNextPage, isFetchingNextPage, fetchNextPage, isError } = query;
  const loadedPages = query.data?.pages.length ?? 0;
  useEffect(() => {
    if (!hasNextPage || isFetchingNextPage || isError) return;
    // The second page waits until the browser is idle (the first screen drawn, its thumbnails asked for),
    // so a page of 1,000 captions does not compete with the first thumbnails; the others follow at once.
    if (loadedPages !== 1) {
      void fetchNextPage();
      return;
    }
    return whenIdle(() => void fetchNextPage());
  }, [hasNextPage, isFetchingNextPage, fetchNextPage, isError, loadedPages]);
  const pages = useMemo(() => query.data?.pages.map((p) => p.items) ?? [], [query.data]);
  const items = useMemo(() => pages.flat(), [pages]);
  const total = query.data?.pages[0]?.total ?? 0;
  return { ...query, items, pages, total, complete: !!query.data && !hasNextPage };
}

/** Run `callback` when the browser is idle (at most `timeout` ms later); returns a cancel function. */
function whenIdle(callback: () => void, timeout = 300): () => void {
  if (typeof requestIdleCallback === "function") {
    const id = requestIdleCallback(callback, { timeout });
    return () => cancelIdleCallback(id);
  }
  const id = setTimeout(callback, 0);
  return () => clearTimeout(id);
}

/** Put a saved caption into the cached list without loading it again. */
export function useUpdateCaptionInCache(name: string) {
  const client = useQueryClient();
  return useCallback(
    (path: string, text: string, version: string) => {
      client.setQueryData<InfiniteData<ImagePage>>(imagesKey(name), (data) =>
        data
          ? {
              ...data,
              // Only the page holding the image changes: the others keep their arrays (and their tag counts).
              pages: data.pages.map((page) =>
                page.items.some((item) => item.path === path)
                  ? {
                      ...page,
                      items: page.items.map((item: ImageItem) =>
                        item.path === path ? { ...item, caption: text, version, caption_error: null } : item,
                      ),
                    }
                  : page,
              ),
            }
          : data,
      );
    },
    [client, name],
  );
}

export interface FollowedJob {
  job: Job | undefined;
  /** From the latest progress event (null while there is none). */
  progress: Progress | null;
  /** The latest log or warning line. */
  message: string | null;
  finished: boolean;
  error: unknown;
}

/**
 * Follow a job until it finishes: its events live over the app's WebSocket (progress, messages), its state
 * from the job query, which the socket refreshes on every state change (a slow poll covers a lost socket).
 */
export function useFollowJob(id: string | null, onFinished?: (job: Job) => void): FollowedJob {
  const jobQuery = useQuery({
    queryKey: ["jobs", id],
    enabled: !!id,
    queryFn: () => datasetApi.job(id!),
    refetchInterval: (q) => (q.state.data && FINISHED_STATES.has(q.state.data.state) ? false : 2000),
  });
  const job = jobQuery.data;
  const finished = !!job && FINISHED_STATES.has(job.state);
  const [live, setLive] = useState<{ id: string | null; progress: Progress | null; message: string | null }>({
    id: null,
    progress: null,
    message: null,
  });
  useJobEvents(id, (event) => {
    const progress = progressFromEvent(event);
    const text = event.data.message;
    const message = (event.type === "log" || event.type === "warning") && typeof text === "string" ? text : null;
    if (!progress && !message) return;
    setLive((before) => {
      const base = before.id === id ? before : { id, progress: null, message: null };
      return { id, progress: progress ?? base.progress, message: message ?? base.message };
    });
  });
  const current = live.id === id ? live : { progress: null, message: null };
  useEffect(() => {
    if (job && finished) onFinished?.(job);
    // Only when the job becomes finished.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [job?.id, finished]);
  return { job, progress: current.progress, message: current.message, finished, error: jobQuery.error };
}
