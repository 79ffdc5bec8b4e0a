// The run monitor: one training run, live. Loss and learning-rate charts, progress, samples, files, log.
import { Anchor, Card, Grid, Group, Loader, Progress, Select, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { useCallback, useMemo, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import type uPlot from "uplot";
import { formatEta, jobTitle } from "@/api/jobs";
import { EventLogView } from "@/components/EventLogView";
import { ErrorNotice } from "@/components/ErrorNotice";
import { JobStateBadge } from "@/components/JobStateBadge";
import { PageHeader } from "@/components/PageHeader";
import { useAncestors, useJob, useRunData } from "./api";
import { Chart } from "./Chart";
import { Compare } from "./Compare";
import { COMMAND_HELP, Controls } from "./Controls";
import { Files } from "./Files";
import type { RunData } from "./runData";
import { type JobSample, Samples } from "./Samples";
import { SeriesBuilder } from "./series";
import { RunSource } from "./Sources";

const SMOOTHING = [
  { value: "0", label: "None (raw only)" },
  { value: "0.6", label: "Light (0.6)" },
  { value: "0.9", label: "Medium (0.9)" },
  { value: "0.97", label: "Strong (0.97)" },
  { value: "0.99", label: "Very strong (0.99)" },
];
const LR_COLORS = ["#2f9e44", "#9c36b5", "#0c8599", "#c2255c"];

export default function RunPage() {
  const { jobId = "" } = useParams();
  return <RunMonitor key={jobId} jobId={jobId} />;
}

export function RunMonitor({ jobId }: { jobId: string }) {
  const job = useJob(jobId);
  const run = useRunData(jobId);
  const ancestors = useAncestors(job.data);
  const [earlier, setEarlier] = useState<Record<string, RunData | null>>({});
  const onEarlier = useCallback((id: string, data: RunData | null) => setEarlier((all) => ({ ...all, [id]: data })), []);
  const [weight, setWeight] = useState("0.9");
  const w = Number(weight);
  const chain = (ancestors.data ?? []).map((j) => j.id);
  const parts = [...chain.map((id) => earlier[id]).filter((d): d is RunData => Boolean(d)), run.data];
  const builder = useRef(new SeriesBuilder());
  const partsVersion = `${parts.map((p) => `${p.version}`).join(".")}-${weight}`;
  const series = useMemo(() => builder.current.update(parts, w), [partsVersion]); // eslint-disable-line react-hooks/exhaustive-deps
  const data = run.data;
  const latest = data.latest;
  const title = job.data ? jobTitle(job.data) : "Training run";
  const samples: JobSample[] = [
    ...chain.flatMap((id) => (earlier[id]?.samples ?? []).map((s) => ({ ...s, jobId: id }))),
    ...data.samples.map((s) => ({ ...s, jobId })),
  ];
  const files = [...chain.flatMap((id) => earlier[id]?.files ?? []), ...data.files];
  const eta = formatEta(job.data?.state === "running" ? latest.etaS : null);
  const fraction = latest.step && latest.totalSteps ? latest.step / latest.totalSteps : null;
  const n = series.x.length;
  const lastLoss = n ? series.raw[n - 1] : null;
  return (
    <>
      <PageHeader
        title={title}
        purpose="Follow a training run live: its loss, learning rate, samples, saved files and log."
        action={job.data ? <Controls job={job.data} /> : null}
      />
      {job.error ? <ErrorNotice error={job.error} title="Could not load this run" onRetry={() => void job.refetch()} /> : null}
      {run.error ? <ErrorNotice error={run.error} title="Could not load the run's events" /> : null}
      <Stack gap="lg">
        <Card withBorder component="section" aria-label="Progress">
          <Stack gap="xs">
            <Group justify="space-between" wrap="wrap">
              <Group gap="xs">
                {job.data ? <JobStateBadge state={job.data.state} /> : <Loader size="xs" aria-label="Loading" />}
                <Text size="sm" c="dimmed">
                  {latest.message ?? ""}
                </Text>
              </Group>
              <Text size="xs" c="dimmed">
                {COMMAND_HELP}
              </Text>
            </Group>
            <Progress
              value={fraction !== null ? fraction * 100 : 0}
              aria-label="Training progress"
            />
            <SimpleGrid cols={{ base: 2, sm: 5 }} spacing="xs">
              <Figure label="Step" value={latest.step !== null ? `${latest.step.toLocaleString()}${latest.totalSteps ? ` / ${latest.totalSteps.toLocaleString()}` : ""}` : "–"} />
              <Figure label="Epoch" value={latest.epoch !== null ? `${latest.epoch}${latest.totalEpochs ? ` / ${latest.totalEpochs}` : ""}` : "–"} />
              <Figure label="Speed" value={latest.itS !== null ? `${latest.itS.toFixed(2)} it/s` : "–"} />
              <Figure label="Time left" value={eta ?? "–"} />
              <Figure label="Loss (average)" value={latest.avgLoss !== null ? latest.avgLoss.toFixed(4) : "–"} />
            </SimpleGrid>
            {job.data?.state === "interrupted" ? (
              <Text size="sm" role="status">
                This run was interrupted (its process ended without finishing, e.g. the server or computer stopped).
                {job.data.resumable ? " Resume goes on from its last saved state." : " It saved no state, so it cannot resume: start it again."}
              </Text>
            ) : null}
            {chain.length ? (
              <Text size="sm">
                Continues{" "}
                {chain.map((id, i) => (
                  <span key={id}>
                    {i ? ", " : ""}
                    <Anchor component={Link} to={`/runs/${encodeURIComponent(id)}`}>
                      run {id}
                    </Anchor>
                  </span>
                ))}
                : the charts show the earlier steps too.
              </Text>
            ) : null}
            {chain.map((id) => (
              <RunSource key={id} jobId={id} live={false} onData={onEarlier} />
            ))}
          </Stack>
        </Card>
        <Grid gutter="lg">
          <Grid.Col span={{ base: 12, lg: 8 }}>
            <Card withBorder component="section" aria-labelledby="loss-title">
              <Group justify="space-between" align="flex-end" mb="xs">
                <Title order={2} size="h4" id="loss-title">
                  Loss
                </Title>
                <Select
                  label="Smoothing"
                  description="Averages out the noise of single steps."
                  data={SMOOTHING}
                  value={weight}
                  onChange={(v) => v && setWeight(v)}
                  allowDeselect={false}
                  w={220}
                />
              </Group>
              <Chart
                id="loss"
                label={n ? `Loss over ${n.toLocaleString()} steps; last ${lastLoss?.toFixed(4)}` : "Loss: no steps yet"}
                lines={[
                  { label: "Loss", color: "rgba(77,151,230,0.6)", width: 1 },
                  ...(w > 0 ? [{ label: "Smoothed", color: "#e8590c", width: 2 }] : []),
                ]}
                getData={() => (w > 0 ? [series.x, series.raw, series.smooth] : [series.x, series.raw]) as uPlot.AlignedData}
                version={partsVersion}
                yLabel="Loss"
              />
              <Text size="xs" c="dimmed" data-testid="loss-points" data-points={n} data-last-step={n ? series.x[n - 1] : 0}>
                {n.toLocaleString()} steps plotted. Drag across the chart to zoom in; double-click to zoom out.
              </Text>
            </Card>
          </Grid.Col>
          <Grid.Col span={{ base: 12, lg: 4 }}>
            <Card withBorder component="section" aria-labelledby="lr-title">
              <Title order={2} size="h4" id="lr-title" mb="xs">
                Learning rate
              </Title>
              <Chart
                id="lr"
                label={`Learning rate by step${series.lrGroups.length ? ` (${series.lrGroups.join(", ")})` : ""}`}
                lines={series.lrGroups.map((g, i) => ({ label: LR_NAMES[g] ?? g, color: LR_COLORS[i % LR_COLORS.length]! }))}
                getData={() => [series.x, ...series.lr] as uPlot.AlignedData}
                version={partsVersion}
                yLabel="Learning rate"
                height={200}
              />
            </Card>
          </Grid.Col>
        </Grid>
        <Samples samples={samples} />
        <Grid gutter="lg">
          <Grid.Col span={{ base: 12, md: 5 }}>
            <Files files={files} />
          </Grid.Col>
          <Grid.Col span={{ base: 12, md: 7 }}>
            <Card withBorder component="section" aria-labelledby="log-title">
              <Title order={2} size="h4" id="log-title" mb="xs">
                Log
              </Title>
              <EventLogView lines={data.log} label="Run log" />
            </Card>
          </Grid.Col>
        </Grid>
        <Compare jobId={jobId} current={data} weight={w} />
        <Text size="sm">
          <Anchor component={Link} to="/jobs">
            All jobs
          </Anchor>
        </Text>
      </Stack>
    </>
  );
}

const LR_NAMES: Record<string, string> = { unet: "UNet", te: "Text encoder", lr: "Learning rate" };

function Figure({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text fw={600}>{value}</Text>
    </div>
  );
}
