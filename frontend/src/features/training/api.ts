// Server state of the Training page: the schema, presets, saved configs, checking, the step plan, starting a run.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, unwrap, type components } from "@/api/client";
import { JOBS_KEY } from "@/api/jobsSocketContext";
import type { ConfigValue, FormSchema } from "@/components/schemaForm";

export type Job = components["schemas"]["Job"];

export interface Preset {
  name: string;
  title: string;
  for_whom: string;
  what: string;
  family: string;
  builtin: boolean;
}

export interface SavedConfig {
  name: string;
  path: string;
  modified: number;
}

export interface Problem {
  code?: string;
  message: string;
  fix?: string | null;
  field?: string | null;
}

/** What the server thinks of a config: problems must be fixed before a run; warnings may be ignored. */
export interface Checked {
  ok: boolean;
  problems: Problem[];
  warnings: Problem[];
}

export interface Plan {
  subsets: { label: string; image_dir: string; images: number; num_repeats: number; images_with_repeats: number; is_reg: boolean; missing_captions: number }[];
  buckets: { width: number; height: number; images: number; images_with_repeats: number; batches: number }[];
  bucket_description: string;
  train_images: number;
  train_images_with_repeats: number;
  reg_images: number;
  batch_size: number;
  gradient_accumulation_steps: number;
  steps_per_epoch: number;
  epochs: number;
  total_steps: number;
  warmup_steps: number;
  notes: { level: string; message: string; fix?: string | null }[];
  time_estimate: { seconds: number | null; seconds_per_step: number | null; based_on: string };
}

export const keys = {
  schema: ["configs", "schema"] as const,
  presets: ["configs", "presets"] as const,
  saved: ["configs", "saved"] as const,
};

export function useFormSchema() {
  return useQuery({
    queryKey: keys.schema,
    queryFn: async () => (await unwrap(api.GET("/api/configs/schema", {}))) as unknown as FormSchema,
    staleTime: Infinity,
  });
}

export function usePresets() {
  return useQuery({
    queryKey: keys.presets,
    queryFn: async () => (await unwrap(api.GET("/api/configs/presets"))) as unknown as Preset[],
  });
}

export function useSavedConfigs() {
  return useQuery({
    queryKey: keys.saved,
    queryFn: async () => (await unwrap(api.GET("/api/configs"))) as unknown as SavedConfig[],
  });
}

/** A full config from a preset (or the defaults), not saved. */
export async function configFromPreset(preset: string | null): Promise<ConfigValue> {
  const answer = await unwrap(api.POST("/api/configs/new", { body: { preset, overrides: {} } }));
  return (answer as { config: ConfigValue }).config;
}

/** The server's verdict; a config that does not even load (a wrong type) comes back as its list of problems. */
export async function checkConfig(config: ConfigValue): Promise<Checked> {
  try {
    return (await unwrap(api.POST("/api/configs/validate", { body: { config } }))) as unknown as Checked;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 422) throw error;
    const problems = error.issues?.length
      ? error.issues.map((issue) => ({ message: issue.message, fix: issue.fix, field: issue.field }))
      : [{ message: error.message, fix: error.fix, field: error.field }];
    return { ok: false, problems, warnings: [] };
  }
}

export function useChecked(config: ConfigValue | null) {
  return useQuery({
    queryKey: ["configs", "validate", config],
    queryFn: () => checkConfig(config as ConfigValue),
    enabled: config !== null,
    placeholderData: keepPreviousData,
    staleTime: 5_000,
  });
}

const hasImages = (config: ConfigValue) => {
  const dataset = (config.dataset ?? {}) as Record<string, unknown>;
  return (Array.isArray(dataset.subsets) && dataset.subsets.length > 0) || Boolean(dataset.train_data_dir);
};

export function usePlan(config: ConfigValue | null) {
  return useQuery({
    queryKey: ["plans", config],
    queryFn: async () =>
      (await unwrap(api.POST("/api/plans", { body: { config: config as ConfigValue, include_images: false } }))) as unknown as Plan,
    enabled: config !== null && hasImages(config),
    placeholderData: keepPreviousData,
    staleTime: 5_000,
  });
}

export function useStartTraining() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ config, title }: { config: ConfigValue; title: string }) =>
      unwrap(api.POST("/api/jobs", { body: { kind: "train", params: { config }, title } })),
    onSuccess: () => client.invalidateQueries({ queryKey: JOBS_KEY }),
  });
}

export function useSavePreset() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (body: { name: string; title: string; config: ConfigValue }) =>
      (await unwrap(api.POST("/api/configs/presets", { body: { ...body, for_whom: "", what: "" } }))) as unknown as Preset,
    onSuccess: () => client.invalidateQueries({ queryKey: keys.presets }),
  });
}

export function useSaveConfig() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ name, config }: { name: string; config: ConfigValue }) =>
      unwrap(api.PUT("/api/configs/{name}", { params: { path: { name } }, body: { config } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.saved }),
  });
}

export async function openConfig(name: string): Promise<ConfigValue> {
  const answer = await unwrap(api.GET("/api/configs/{name}", { params: { path: { name } } }));
  return (answer as { config: ConfigValue }).config;
}

export async function configToToml(config: ConfigValue): Promise<string> {
  return ((await unwrap(api.POST("/api/configs/toml", { body: { config } }))) as { toml: string }).toml;
}

export async function configFromToml(toml: string): Promise<ConfigValue> {
  return ((await unwrap(api.POST("/api/configs/from-toml", { body: { toml } }))) as { config: ConfigValue }).config;
}

export interface KohyaFiles {
  files: Record<string, string>;
  script: string;
  notes: string[];
}

export async function kohyaFiles(config: ConfigValue): Promise<KohyaFiles> {
  return (await unwrap(api.POST("/api/configs/kohya", { body: { config } }))) as unknown as KohyaFiles;
}

export async function kohyaImport(configToml: string, datasetToml: string | null) {
  const answer = await unwrap(
    api.POST("/api/configs/kohya/parse", { body: { config_toml: configToml, dataset_toml: datasetToml } }),
  );
  return answer as unknown as { config: ConfigValue; notes: string[] };
}
