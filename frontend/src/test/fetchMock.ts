import { vi } from "vitest";

export type Handler = (request: Request) => Response | Promise<Response> | undefined;

export const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** Stub the global fetch with handlers tried in order; an unhandled request is a 404 in the server's shape. */
export function mockFetch(...handlers: Handler[]) {
  const calls: Request[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    calls.push(request);
    for (const handler of handlers) {
      const response = await handler(request);
      if (response) return response;
    }
    return json({ error: { code: "not_found", message: "There is nothing at this address.", fix: "Check the URL." } }, 404);
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}

export const route = (method: string, path: string | RegExp, answer: (request: Request) => Response): Handler => (request) => {
  const url = new URL(request.url);
  const matches = typeof path === "string" ? url.pathname === path : path.test(url.pathname);
  return request.method === method && matches ? answer(request) : undefined;
};
