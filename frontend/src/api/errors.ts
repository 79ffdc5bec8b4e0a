// The server's one error shape: {"error": {"code", "message", "fix", "field"}} (src/lorakit/web/errors.py).

export interface ServerError {
  code: string;
  message: string;
  fix?: string | null;
  field?: string | null;
  issues?: { message: string; fix?: string | null; field?: string | null }[];
}

/** An API call that failed: the server's own words (what happened + what to do), never raw JSON. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fix: string | null;
  readonly field: string | null;
  readonly issues: ServerError["issues"];

  constructor(status: number, error: ServerError) {
    super(error.message);
    this.name = "ApiError";
    this.status = status;
    this.code = error.code;
    this.fix = error.fix ?? null;
    this.field = error.field ?? null;
    this.issues = error.issues;
  }

  /** True when the server wants its access token (HTTP 401). */
  get needsToken(): boolean {
    return this.status === 401;
  }
}

function isServerError(value: unknown): value is ServerError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { message?: unknown }).message === "string" &&
    typeof (value as { code?: unknown }).code === "string"
  );
}

/** An ApiError from whatever the server answered: its error body, or plain words for anything else. */
export function toApiError(status: number, body: unknown): ApiError {
  const inner = typeof body === "object" && body !== null ? (body as { error?: unknown }).error : undefined;
  if (isServerError(inner)) return new ApiError(status, inner);
  if (status === 0) {
    return new ApiError(0, {
      code: "offline",
      message: "The lorakit server cannot be reached.",
      fix: "Check that `lorakit serve` is still running; this page retries when it is back.",
    });
  }
  if (status >= 500) {
    return new ApiError(status, {
      code: "internal",
      message: `The server had a problem (HTTP ${status}).`,
      fix: "Try again; if it keeps happening, look at the server's log.",
    });
  }
  return new ApiError(status, {
    code: "http",
    message: `The server refused the request (HTTP ${status}).`,
    fix: "Reload the page and try again.",
  });
}

/** Any thrown value as an ApiError (network failures become the "cannot be reached" error). */
export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof TypeError) return toApiError(0, null);
  return new ApiError(0, {
    code: "client",
    message: error instanceof Error ? error.message : "Something went wrong in the page.",
    fix: "Reload the page; if it keeps happening, report it.",
  });
}
