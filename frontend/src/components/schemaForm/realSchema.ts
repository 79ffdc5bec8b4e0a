// Test helper: the real form schema, dumped by the repository's Python (no server), as GET /api/configs/schema.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import type { FormSchema } from "./types";

const REPO = resolve(__dirname, "..", "..", "..", "..");

/** Fails (never skips) when Python is missing: a test that cannot see the schema must not pass. */
export function loadRealSchema(): FormSchema {
  const python = process.env.LORAKIT_PYTHON || join(REPO, ".venv", "bin", "python");
  if (!existsSync(python)) throw new Error(`No Python at ${python}: set LORAKIT_PYTHON to a Python with lorakit.`);
  const code = "import json,sys\nfrom lorakit.config.schema_export import form_schema\njson.dump(form_schema(),sys.stdout)";
  const text = execFileSync(python, ["-c", code], {
    env: { ...process.env, PYTHONPATH: [join(REPO, "src"), process.env.PYTHONPATH].filter(Boolean).join(delimiter) },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(text) as FormSchema;
}
