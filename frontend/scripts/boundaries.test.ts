// @vitest-environment node
// The import-boundary rule in eslint.config.js: a feature never imports another feature or the app;
// shared code never imports a feature or the app.
import { ESLint } from "eslint";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..");
const eslint = new ESLint({ cwd: root });

async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === "lorakit/boundaries").map((m) => m.message);
}

describe("lorakit/boundaries", () => {
  it("refuses a feature importing another feature, however the path is written", async () => {
    const code = [
      'import A from "@/features/datasets/Page";',
      'import B from "../../datasets/Page";',
      'export const c = () => import("../models/Page");',
      "export const all = [A, B];",
    ].join("\n");
    expect(await boundaryErrors("src/features/files/deep/X.tsx", code)).toHaveLength(2);
    expect(await boundaryErrors("src/features/files/X.tsx", code)).toHaveLength(2); // ../../datasets leaves src/features
  });

  it("refuses a feature importing the app, and shared code importing a feature or the app", async () => {
    expect(await boundaryErrors("src/features/files/X.tsx", 'export { Layout } from "@/app/Layout";')).toHaveLength(1);
    expect(await boundaryErrors("src/components/X.tsx", 'export { default } from "@/features/files/Page";')).toHaveLength(1);
    expect(await boundaryErrors("src/api/x.ts", 'export * from "../app/routes";')).toHaveLength(1);
  });

  it("allows a feature's own files and the shared folders", async () => {
    const code = [
      'import Own from "../Page";',
      'import { ErrorNotice } from "@/components/ErrorNotice";',
      'import { api } from "../../../api/client";',
      "export const all = [Own, ErrorNotice, api];",
    ].join("\n");
    expect(await boundaryErrors("src/features/files/deep/X.tsx", code)).toEqual([]);
    expect(await boundaryErrors("src/app/X.tsx", 'export { default } from "@/features/files/Page";')).toEqual([]);
  });
});
