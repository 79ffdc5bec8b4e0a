// The Training page: a form generated from the server's schema, checked as you type, with the step plan beside it.
import { Grid, Loader, Stack, Tabs } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useNavigate } from "react-router-dom";
import { ErrorNotice } from "@/components/ErrorNotice";
import { PageHeader } from "@/components/PageHeader";
import { buildSections, SchemaForm, setIn, type ConfigValue, type SchemaFormHandle } from "@/components/schemaForm";
import { configFromPreset, useChecked, useFormSchema, usePlan, useStartTraining } from "./api";
import { KohyaPanel } from "./KohyaPanel";
import { TRAINING_LAYOUT } from "./layout";
import { PlanPanel } from "./PlanPanel";
import { PresetPanel } from "./PresetPanel";
import { ProblemList } from "./ProblemList";
import { arrange, whyNotStart } from "./problems";
import { SavedConfigs } from "./SavedConfigs";
import { TomlPanel } from "./TomlPanel";
import { StartButton } from "./StartButton";

/** How long typing pauses before the server checks the settings and plans the run. */
export const CHECK_DELAY_MS = 400;
const DRAFT_KEY = "lorakit.training.draft";

function readDraft(): ConfigValue | null {
  try {
    const text = window.localStorage.getItem(DRAFT_KEY);
    const value: unknown = text ? JSON.parse(text) : null;
    return value && typeof value === "object" && !Array.isArray(value) ? (value as ConfigValue) : null;
  } catch {
    return null;
  }
}

const hasImages = (config: ConfigValue | null) => {
  const dataset = (config?.dataset ?? {}) as Record<string, unknown>;
  return (Array.isArray(dataset.subsets) && dataset.subsets.length > 0) || Boolean(dataset.train_data_dir);
};

export default function TrainingPage() {
  const navigate = useNavigate();
  const schema = useFormSchema();
  const sections = useMemo(() => (schema.data ? buildSections(schema.data) : []), [schema.data]);
  const specs = useMemo(() => sections.flatMap((s) => s.fields), [sections]);
  const known = useMemo(() => new Set(specs.map((f) => f.help.path)), [specs]);
  const labels = useMemo(() => new Map(specs.map((f) => [f.help.path, f.label])), [specs]);

  const [config, setConfig] = useState<ConfigValue | null>(readDraft);
  const [startError, setStartError] = useState<unknown>(null);
  const [defaultsError, setDefaultsError] = useState<unknown>(null);
  const [name, setName] = useState("my-lora");
  const form = useRef<SchemaFormHandle>(null);

  useEffect(() => {
    if (config !== null) return;
    configFromPreset(null).then(setConfig, setDefaultsError);
  }, [config]);

  const [settled] = useDebouncedValue(config, CHECK_DELAY_MS);
  useEffect(() => {
    if (settled) window.localStorage.setItem(DRAFT_KEY, JSON.stringify(settled));
  }, [settled]);
  const checked = useChecked(settled);
  const plan = usePlan(settled);
  const start = useStartTraining();

  const onChange = useCallback((path: string, value: unknown) => {
    setConfig((current) => setIn(current ?? {}, path, value));
  }, []);
  const replace = useCallback((next: ConfigValue) => setConfig(next), []);

  const arranged = useMemo(() => arrange(checked.data, known), [checked.data, known]);
  const checking = config !== settled || checked.isFetching;
  const reason = whyNotStart({
    loaded: config !== null && sections.length > 0,
    checking,
    failed: Boolean(checked.error),
    problems: arranged.problems.length,
    starting: start.isPending,
  });

  const startRun = () => {
    if (!config) return;
    setStartError(null);
    const output = (config.output ?? {}) as Record<string, unknown>;
    start.mutate(
      { config, title: `Train ${String(output.output_name ?? "a LoRA")}` },
      { onSuccess: (job) => navigate(`/runs/${job.id}`), onError: setStartError },
    );
  };
  const showFirstProblem = () => {
    const first = arranged.problems.find((p) => p.at);
    if (first?.at) form.current?.reveal(first.at);
  };

  return (
    <>
      <PageHeader
        title="Training"
        purpose="Choose the settings for a LoRA, see its step plan, and start training it."
        action={<StartButton reason={reason} loading={start.isPending} onStart={startRun} onBlocked={showFirstProblem} />}
      />
      {startError ? <ErrorNotice error={startError} title="Training did not start" /> : null}
      {schema.error ? <ErrorNotice error={schema.error} title="The settings could not be loaded" onRetry={() => void schema.refetch()} /> : null}
      {defaultsError ? <ErrorNotice error={defaultsError} title="The default settings could not be loaded" /> : null}
      {config === null || sections.length === 0 ? (
        schema.error || defaultsError ? null : <Loader aria-label="Loading the settings" />
      ) : (
        <Grid gutter="lg">
          <Grid.Col span={{ base: 12, md: 7, xl: 8 }}>
            <Stack gap="lg">
              <Grid gutter="lg">
                <Grid.Col span={{ base: 12, lg: 6 }}>
                  <PresetPanel config={config} labels={labels} onApply={replace} />
                </Grid.Col>
                <Grid.Col span={{ base: 12, lg: 6 }}>
                  <SavedConfigs config={config} name={name} onName={setName} onOpen={(next, saved) => (replace(next), setName(saved))} />
                </Grid.Col>
              </Grid>
              <Tabs defaultValue="form" keepMounted={false}>
                <Tabs.List>
                  <Tabs.Tab value="form">Form</Tabs.Tab>
                  <Tabs.Tab value="toml">TOML</Tabs.Tab>
                  <Tabs.Tab value="kohya">sd-scripts</Tabs.Tab>
                </Tabs.List>
                <Tabs.Panel value="form" pt="md">
                  <SchemaForm ref={form} sections={sections} value={config} onChange={onChange} problems={arranged.byField} layout={TRAINING_LAYOUT} />
                </Tabs.Panel>
                <Tabs.Panel value="toml" pt="md">
                  <TomlPanel config={config} onApply={replace} />
                </Tabs.Panel>
                <Tabs.Panel value="kohya" pt="md">
                  <KohyaPanel config={config} onImport={replace} />
                </Tabs.Panel>
              </Tabs>
            </Stack>
          </Grid.Col>
          <Grid.Col span={{ base: 12, md: 5, xl: 4 }}>
            <Stack gap="lg" style={{ position: "sticky", top: "calc(var(--app-shell-header-offset, 0px) + 16px)" }}>
              {checked.error ? <ErrorNotice error={checked.error} title="The settings could not be checked" /> : null}
              <ProblemList arranged={arranged} checked={Boolean(checked.data)} labels={labels} onShow={(path) => form.current?.reveal(path)} />
              <PlanPanel plan={plan.data} error={plan.error} loading={plan.isFetching} hasImages={hasImages(settled)} />
            </Stack>
          </Grid.Col>
        </Grid>
      )}
    </>
  );
}
