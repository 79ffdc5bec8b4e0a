// What a preset would change in the current settings.
import { flatten, sameValue, setIn, type ConfigValue } from "@/components/schemaForm";

export interface Change {
  path: string;
  from: unknown;
  to: unknown;
}

/** Every setting whose value differs (a missing value is "not set"), in path order. */
export function diffConfigs(before: ConfigValue, after: ConfigValue): Change[] {
  const a = flatten(before);
  const b = flatten(after);
  const paths = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return paths
    .filter((path) => path !== "config_version" && !sameValue(a[path] ?? null, b[path] ?? null))
    .map((path) => ({ path, from: a[path] ?? null, to: b[path] ?? null }));
}

// Presets never carry image folders (they belong to one project): picking one keeps yours.
const FOLDERS = ["dataset.subsets", "dataset.train_data_dir", "dataset.reg_data_dir"];

export function keepFolders(preset: ConfigValue, current: ConfigValue): ConfigValue {
  let merged = preset;
  for (const path of FOLDERS) {
    const [section, name] = path.split(".") as [string, string];
    const value = (current[section] as Record<string, unknown> | undefined)?.[name];
    if (value !== undefined && value !== null) merged = setIn(merged, path, value);
  }
  return merged;
}
