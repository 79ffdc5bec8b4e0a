// From the server's schema to form fields, and reading/writing values at dotted paths.
import type { ConfigValue, FieldHelp, FieldSpec, FormSchema, FormSection, JsonSchema, Widget } from "./types";

const ACRONYMS: Record<string, string> = {
  lr: "LR", te: "TE", vae: "VAE", ip: "IP", snr: "SNR", fp8: "FP8", fp16: "FP16", bf16: "BF16", t5xxl: "T5-XXL",
  ddp: "DDP", fsdp: "FSDP", ae: "AE", hf: "HF", ip_noise: "IP noise", id: "ID", reso: "resolution", n: "N",
  dim: "dim", lora: "LoRA", loraplus: "LoRA+", dylora: "DyLoRA", wandb: "W&B", num: "number of", aug: "augmentation",
};

/** "lr_scheduler_num_cycles" -> "LR scheduler number of cycles". */
export function labelOf(name: string): string {
  const words = name.split("_").filter(Boolean).map((word) => ACRONYMS[word] ?? word);
  const text = words.join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function deref(node: JsonSchema, root: JsonSchema): JsonSchema {
  const ref = node.$ref ?? node.allOf?.[0]?.$ref;
  if (!ref) return node;
  const name = ref.split("/").at(-1) ?? "";
  const target = root.$defs?.[name];
  if (!target) throw new Error(`The schema names ${ref}, which it does not define.`);
  return target;
}

/** The JSON schema of one setting: `network.dim` -> properties.network -> $defs.NetworkSection.properties.dim. */
export function propertyOf(path: string, root: JsonSchema): JsonSchema {
  const parts = path.replace(/\[\]/g, "").split(".");
  let node: JsonSchema = root;
  for (const part of parts) {
    let here = deref(node, root);
    if (here.type === "array" && here.items) here = deref(here.items, root);
    const next = here.properties?.[part];
    if (!next) throw new Error(`The schema has no property ${part} on the way to ${path}.`);
    node = next;
  }
  return node;
}

/** A widget for a (non-null) JSON schema node; `records` needs the fields of one entry. */
export function widgetOf(node: JsonSchema, root: JsonSchema, help: FieldHelp, records: FieldSpec[] = []): Widget {
  const options = node.anyOf?.filter((option) => option.type !== "null");
  if (options && options.length > 0) {
    if (options.length === 1) return widgetOf({ ...node, ...options[0], anyOf: undefined }, root, help, records);
    const widgets = options.map((option) => widgetOf(option, root, help, records));
    // "A whole number or a number" is one number field: the server takes either.
    if (widgets.every((w) => w.kind === "integer" || w.kind === "number")) {
      return { kind: "number", min: help.minimum, max: help.maximum };
    }
    return { kind: "union", options: widgets };
  }
  if (node.$ref || node.allOf) return widgetOf(deref(node, root), root, help, records);
  if (node.enum) return { kind: "choice", options: node.enum as (string | number)[] };
  if (node.const !== undefined) return { kind: "choice", options: [node.const as string | number] };
  switch (node.type) {
    case "boolean":
      return { kind: "boolean" };
    case "integer":
    case "number":
      return {
        kind: node.type,
        min: node.minimum ?? node.exclusiveMinimum ?? help.minimum,
        max: node.maximum ?? node.exclusiveMaximum ?? help.maximum,
      };
    case "string":
      return node.format === "path" ? { kind: "path" } : { kind: "text", secret: help.secret };
    case "object":
      return { kind: "table" };
    case "array": {
      if (node.prefixItems && node.prefixItems.length > 0) {
        const first = node.prefixItems[0] as JsonSchema;
        return { kind: "list", item: widgetOf(first, root, help), length: node.prefixItems.length };
      }
      const items = node.items ?? {};
      if (items.$ref && deref(items, root).type === "object") return { kind: "records", fields: records };
      return { kind: "list", item: widgetOf(items, root, help), length: null };
    }
    default:
      throw new Error(`No widget for ${help.path} (JSON schema type ${String(node.type)}).`);
  }
}

function specOf(help: FieldHelp, root: JsonSchema, records: FieldSpec[]): FieldSpec {
  const node = propertyOf(help.path, root);
  const nullable = Boolean(node.anyOf?.some((option) => option.type === "null"));
  const fallback = "default" in node ? node.default : help.default;
  return { help, widget: widgetOf(node, root, help, records), nullable, label: labelOf(help.name), default: fallback ?? null };
}

/** Every setting the server describes, as form fields, in the server's section order. */
export function buildSections(schema: FormSchema): FormSection[] {
  const records = schema.subset_fields.map((help) => specOf(help, schema.json_schema, []));
  return schema.sections.map((section) => ({
    name: section.name,
    title: section.title,
    description: section.description,
    fields: section.fields.map((help) => specOf(help, schema.json_schema, records)),
  }));
}

// ---- values at dotted paths ("network.dim", "dataset.subsets[0].image_dir") ----

function segments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of path.split(".")) {
    const match = /^([^[\]]+)((?:\[\d+\])*)$/.exec(part);
    if (!match) throw new Error(`Not a setting path: ${path}`);
    out.push(match[1] as string);
    for (const index of (match[2] ?? "").matchAll(/\[(\d+)\]/g)) out.push(Number(index[1]));
  }
  return out;
}

export function getIn(value: unknown, path: string): unknown {
  let node: unknown = value;
  for (const key of segments(path)) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/** A copy of `config` with `value` at `path` (undefined or null removes the key: "not set"). */
export function setIn(config: ConfigValue, path: string, value: unknown): ConfigValue {
  const keys = segments(path);
  const write = (node: unknown, depth: number): unknown => {
    const key = keys[depth] as string | number;
    const copy: Record<string | number, unknown> | unknown[] = Array.isArray(node)
      ? [...node]
      : { ...((node ?? {}) as Record<string, unknown>) };
    const bag = copy as Record<string | number, unknown>;
    if (depth === keys.length - 1) {
      if (value === undefined || value === null) {
        if (Array.isArray(copy)) bag[key] = null;
        else delete bag[key];
      } else bag[key] = value;
    } else {
      bag[key] = write(bag[key] ?? (typeof keys[depth + 1] === "number" ? [] : {}), depth + 1);
    }
    return copy;
  };
  return write(config, 0) as ConfigValue;
}

export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return (a ?? null) === (b ?? null);
  if (typeof a === "number" && typeof b === "number") return Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a));
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The value a field shows: what the config holds, else its default. */
export function shownValue(config: ConfigValue, spec: FieldSpec): unknown {
  const value = getIn(config, spec.help.path);
  return value === undefined ? spec.default : value;
}

/** A value in the words a person reads ("on", "not set", "0.0001", "[1, 2]"). */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return "not set";
  if (value === true) return "on";
  if (value === false) return "off";
  if (typeof value === "string") return value === "" ? "(empty)" : value;
  return JSON.stringify(value);
}

/** Every leaf of a config as dotted path -> value (lists of tables as one value each). */
export function flatten(config: unknown, prefix = ""): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    out[prefix] = config;
    return out;
  }
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === "object" && !Array.isArray(value) && !isTable(path)) {
      Object.assign(out, flatten(value, path));
    } else out[path] = value;
  }
  return out;
}

// Tables that are settings themselves (optimizer_args ...) rather than sections: one level deep is a section.
function isTable(path: string): boolean {
  return path.includes(".");
}

/** The DOM id of a setting's control. */
export const fieldId = (path: string) => `setting-${path.replace(/[^A-Za-z0-9_-]/g, "-")}`;
