/**
 * The answers index.html's early requests got (see ./firstRequests.ts): the page takes them instead of asking
 * again, only while they are fresh and only when they succeeded.
 */

interface Prefetched {
  at: number;
  response: Promise<Response>;
}

declare global {
  interface Window {
    __lkPrefetch?: Record<string, Prefetched>;
  }
}

/** How long after the page loaded a prefetched answer is still used (later ones are asked for again). */
export const PREFETCH_FRESH_MS = 10_000;

/** The prefetched answer for `url` if there is a fresh one (each is used once), else undefined. */
export async function takePrefetched(url: string): Promise<Response | undefined> {
  const store = typeof window === "undefined" ? undefined : window.__lkPrefetch;
  const entry = store?.[url];
  if (!store || !entry) return undefined;
  delete store[url];
  if (performance.now() - entry.at > PREFETCH_FRESH_MS) return undefined;
  try {
    const response = await entry.response;
    return response.ok ? response : undefined; // an error (401: the token page) is asked for again
  } catch {
    return undefined;
  }
}
