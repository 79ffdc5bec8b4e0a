// What GET /api/configs/schema serves (src/lorakit/config/schema_export.py), and the widgets built from it.

/** One setting as the server describes it (FieldHelp). */
export interface FieldHelp {
  path: string;
  section: string;
  name: string;
  help: string;
  level: "basic" | "advanced" | "expert";
  effect: string | null;
  type: string;
  default: unknown;
  unit: string | null;
  minimum: number | null;
  maximum: number | null;
  recommended: unknown;
  choices: unknown[] | null;
  kohya: string | null;
  kohya_note: string | null;
  lorakit_only: boolean;
  secret: boolean;
}

export interface SchemaSection {
  name: string;
  title: string;
  description: string;
  fields: FieldHelp[];
}

/** A JSON schema node (pydantic's), loosely typed: only what the form reads. */
export interface JsonSchema {
  type?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  properties?: Record<string, JsonSchema>;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  [key: string]: unknown;
}

export interface FormSchema {
  sections: SchemaSection[];
  /** The settings of one entry of a list of tables (dataset.subsets[].image_dir ...). */
  subset_fields: FieldHelp[];
  json_schema: JsonSchema;
}

/** How a value is entered. Derived from the JSON schema, never written per field. */
export type Widget =
  | { kind: "boolean" }
  | { kind: "integer" | "number"; min: number | null; max: number | null }
  | { kind: "choice"; options: (string | number)[] }
  | { kind: "text"; secret: boolean }
  | { kind: "path" }
  | { kind: "list"; item: Widget; length: number | null }
  | { kind: "table" }
  | { kind: "records"; fields: FieldSpec[] }
  | { kind: "union"; options: Widget[] };

export interface FieldSpec {
  help: FieldHelp;
  widget: Widget;
  /** "Not set" is a valid value (the server decides, or the setting is off). */
  nullable: boolean;
  /** A plain-words label from the setting's name. */
  label: string;
  /** What an unset value means (the JSON schema's default: null in entries that inherit the section's value). */
  default: unknown;
}

export interface FormSection {
  name: string;
  title: string;
  description: string;
  fields: FieldSpec[];
}

/** A problem the server found, with what to do about it. */
export interface FieldProblem {
  message: string;
  fix?: string | null;
  level?: "problem" | "warning";
}

export type FieldProblems = Record<string, FieldProblem[]>;

/** The config being edited: the TOML's tables as JSON ({"network": {"dim": 16}}). */
export type ConfigValue = Record<string, unknown>;
