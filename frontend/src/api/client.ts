// The typed API client: openapi-fetch over the generated schema (`npm run gen:api`).
import createClient, { type Middleware } from "openapi-fetch";
import { ApiError, toApiError } from "./errors";
import type { paths } from "./schema";

export { ApiError, asApiError, toApiError } from "./errors";
export type { ServerError } from "./errors";
export type { components, paths } from "./schema";

type Listener = (error: ApiError) => void;
const unauthorizedListeners = new Set<Listener>();

/** Called whenever any request answers 401 (the shell shows the token page). */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export function notifyUnauthorized(error: ApiError): void {
  for (const listener of unauthorizedListeners) listener(error);
}

const throwOnError: Middleware = {
  async onResponse({ response }) {
    if (response.ok) return undefined;
    let body: unknown = null;
    try {
      body = await response.clone().json();
    } catch {
      body = null;
    }
    const error = toApiError(response.status, body);
    if (error.needsToken) notifyUnauthorized(error);
    throw error;
  },
};

/** Same-origin client; cookies carry the token once the token page (or a ?token= link) set it. */
export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "" : window.location.origin,
  credentials: "same-origin",
  // Looked up at each call (not captured once), so tests can stub the global fetch.
  fetch: (request) => globalThis.fetch(request),
});
api.use(throwOnError);

/** The data of an openapi-fetch result (errors were already thrown by the middleware). */
export async function unwrap<T>(promise: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await promise;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw toApiError(0, null);
  }
  if (result.error !== undefined) throw toApiError(result.response.status, result.error);
  return result.data as T;
}
