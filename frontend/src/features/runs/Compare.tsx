// Compare runs: the smoothed loss of this run and others, overlaid on one chart.
import { Card, MultiSelect, Stack, Text, Title } from "@mantine/core";
import { useCallback, useMemo, useState } from "react";
import uPlot from "uplot";
import { jobTitle } from "@/api/jobs";
import { useTrainJobs } from "./api";
import { Chart } from "./Chart";
import { type RunData, smooth } from "./runData";
import { RunSource } from "./Sources";

const PALETTE = ["#1971c2", "#e8590c", "#2f9e44", "#9c36b5", "#c2255c", "#0c8599", "#5c940d", "#862e9c"];

export function Compare({ jobId, current, weight }: { jobId: string; current: RunData; weight: number }) {
  const jobs = useTrainJobs();
  const [chosen, setChosen] = useState<string[]>([]);
  const [sources, setSources] = useState<Record<string, RunData | null>>({});
  const [tick, setTick] = useState(0);
  const onData = useCallback((id: string, data: RunData | null) => {
    setSources((all) => (all[id] === data ? all : { ...all, [id]: data }));
    setTick((t) => t + 1);
  }, []);
  const ids = chosen.filter((id) => id !== jobId);
  const names = useMemo(() => new Map((jobs.data ?? []).map((job) => [job.id, `${jobTitle(job)} (${job.id})`])), [jobs.data]);
  const options = (jobs.data ?? []).filter((job) => job.id !== jobId).map((job) => ({ value: job.id, label: names.get(job.id)! }));
  const ready = [jobId, ...ids.filter((id) => sources[id])];
  const getData = () => {
    const tables = ready.map((id) => {
      const data = id === jobId ? current : sources[id]!;
      return [data.steps, smooth(data.loss, weight)] as uPlot.AlignedData;
    });
    return uPlot.join(tables);
  };
  return (
    <Card withBorder component="section" aria-labelledby="compare-title">
      <Stack gap="xs">
        <Title order={2} size="h4" id="compare-title">
          Compare runs
        </Title>
        <MultiSelect
          label="Runs to compare with this one"
          description="Their smoothed loss is drawn over this run's, step by step."
          placeholder={options.length ? "Pick one or more runs" : "No other training runs yet"}
          data={options}
          value={chosen}
          onChange={setChosen}
          searchable
          clearable
        />
        {ids.map((id) => (
          <RunSource key={id} jobId={id} live onData={onData} />
        ))}
        {chosen.length ? (
          <Chart
            id="compare"
            label={`Smoothed loss of ${ready.length} runs by step`}
            lines={ready.map((id, i) => ({ label: names.get(id) ?? id, color: PALETTE[i % PALETTE.length]!, width: 1.5 }))}
            getData={getData}
            version={`${tick}-${current.version}-${weight}-${ready.join(",")}`}
            yLabel="Loss"
          />
        ) : (
          <Text size="sm" c="dimmed">
            Pick runs above to overlay their loss curves.
          </Text>
        )}
      </Stack>
    </Card>
  );
}
