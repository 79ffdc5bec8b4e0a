import { afterEach, describe, expect, it, vi } from "vitest";

import { datasetApi, thumbnailUrl } from "./api";
import { FIRST_PAGE, firstRequests, prefetchScript } from "./firstRequests";

const page = { dataset: "my set", total: 3, offset: 0, items: ["a b.png", "sub/c+d.png", "e.png"].map((path) => ({ path, caption: "x", version: "v" })) };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

afterEach(() => {
  delete window.__lkPrefetch;
  window.history.pushState({}, "", "/");
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("index.html's early requests for the Datasets page", () => {
  it("ask for exactly what the page asks for first", () => {
    expect(firstRequests("/files", FIRST_PAGE)).toEqual([]);
    expect(firstRequests("/datasets", FIRST_PAGE)).toEqual(["/api/datasets"]);
    expect(firstRequests("/datasets/my%20set/x", FIRST_PAGE)).toEqual([
      "/api/datasets",
      `/api/datasets/${encodeURIComponent("my set")}/images?offset=0&limit=${FIRST_PAGE}`,
    ]);
  });

  it("are taken by the page once, and the first screen's thumbnails are asked for", async () => {
    window.history.pushState({}, "", "/datasets/my%20set");
    const fetchMock = vi.fn(async (url: string) => (url === "/api/datasets" ? json([{ name: "my set", path: "datasets/my set", images: 3 }]) : json(page)));
    vi.stubGlobal("fetch", fetchMock);
    const sources: string[] = [];
    vi.stubGlobal(
      "Image",
      class {
        decoding = "";
        set src(value: string) {
          sources.push(value);
        }
      },
    );
    // The script as the build injects it (no module list in a test).
    new Function(prefetchScript(FIRST_PAGE, []))();
    expect(fetchMock).toHaveBeenCalledTimes(2);

    expect(await datasetApi.images("my set", 0, FIRST_PAGE)).toEqual(page);
    expect((await datasetApi.list())[0]?.name).toBe("my set");
    expect(fetchMock).toHaveBeenCalledTimes(2); // both answers came from the early requests
    await vi.waitFor(() => expect(sources).toEqual(page.items.map((i) => thumbnailUrl("my set", i.path))));

    await datasetApi.list(); // used once: asked again
    expect(fetchMock).toHaveBeenCalledTimes(3);
  });

  it("are not used when they failed (a 401 asks again, through the token page's flow)", async () => {
    window.history.pushState({}, "", "/datasets/big");
    const fetchMock = vi.fn(async () => json({ error: { code: "unauthorized", message: "A token is needed.", fix: "Enter it." } }, 401));
    vi.stubGlobal("fetch", fetchMock);
    new Function(prefetchScript(FIRST_PAGE, []))();
    fetchMock.mockImplementation(async () => json([]));
    expect(await datasetApi.list()).toEqual([]);
    expect(fetchMock).toHaveBeenCalledTimes(3);
  });
});
