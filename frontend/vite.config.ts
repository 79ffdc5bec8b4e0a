/// <reference types="vitest" />
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, URL } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";
import { FIRST_PAGE, prefetchScript } from "./src/features/datasets/firstRequests";

/**
 * A small script first in index.html: on /datasets/... it asks for the dataset list and the first page of
 * images, and preloads the Datasets page's code, while the browser still loads the app (see firstRequests.ts).
 */
function earlyRequests(): Plugin {
  return {
    name: "lorakit-early-requests",
    transformIndexHtml: {
      order: "post",
      handler(_html, ctx) {
        const modules: string[] = [];
        const chunks = Object.values(ctx.bundle ?? {});
        const page = chunks.find((c) => c.type === "chunk" && c.facadeModuleId?.endsWith("/src/features/datasets/Page.tsx"));
        const add = (fileName: string) => {
          const chunk = ctx.bundle?.[fileName];
          if (!chunk || chunk.type !== "chunk" || chunk.isEntry || modules.includes(`/${fileName}`)) return;
          modules.push(`/${fileName}`);
          for (const css of chunk.viteMetadata?.importedCss ?? []) modules.push(`/${css}`);
          chunk.imports.forEach(add);
        };
        if (page) add(page.fileName);
        return [{ tag: "script", children: prefetchScript(FIRST_PAGE, modules), injectTo: "head" }];
      },
    },
  };
}

/**
 * After a build, a Brotli (.br) and a gzip (.gz) copy of every text file over 1 KB next to it: `lorakit serve`
 * sends the copy the browser accepts (src/lorakit/web/routes/spa.py), so nothing is compressed per request.
 */
function precompress(): Plugin {
  let outDir = "dist";
  return {
    name: "lorakit-precompress",
    apply: "build",
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    writeBundle() {
      const walk = (dir: string): string[] =>
        readdirSync(dir).flatMap((name) => {
          const full = path.join(dir, name);
          return statSync(full).isDirectory() ? walk(full) : [full];
        });
      for (const file of walk(outDir)) {
        if (!/\.(js|css|html|svg|json|txt|map)$/.test(file)) continue;
        const data = readFileSync(file);
        if (data.length < 1024) continue;
        writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
        writeFileSync(
          `${file}.br`,
          brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } }),
        );
      }
    },
  };
}

// `npm run dev` proxies the API and the WebSocket to a running `lorakit serve` (LORAKIT_URL, default :8000).
const target = process.env.LORAKIT_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react(), earlyRequests(), precompress()],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  server: {
    host: "127.0.0.1",
    proxy: {
      "/api": { target, changeOrigin: true },
      "/ws": { target: target.replace(/^http/, "ws"), ws: true, changeOrigin: true },
    },
  },
  build: {
    target: "es2020",
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}", "scripts/**/*.test.ts"],
    css: false,
  },
});
