/** The datasets of the workspace with how many images each has and what its last health check said. */
import { NavLink, Stack, Text } from "@mantine/core";

import { healthSummary } from "./health";
import type { DatasetInfo, HealthReport, Job } from "./types";

export interface DatasetListProps {
  datasets: DatasetInfo[];
  health: Map<string, { job: Job; report: HealthReport }>;
  selected: string | null;
  onSelect: (name: string) => void;
}

export function DatasetList({ datasets, health, selected, onSelect }: DatasetListProps) {
  if (datasets.length === 0) {
    return (
      <Text size="sm" c="dimmed">
        No datasets yet. Make a folder under datasets/ on the Files page, or import a ZIP of images there.
      </Text>
    );
  }
  return (
    <Stack gap={2} component="nav" aria-label="Datasets">
      {datasets.map((d) => {
        const summary = healthSummary(health.get(d.name)?.report);
        return (
          <NavLink
            key={d.name}
            component="button"
            active={d.name === selected}
            aria-current={d.name === selected ? "page" : undefined}
            label={d.name}
            description={`${d.images} ${d.images === 1 ? "image" : "images"}`}
            onClick={() => onSelect(d.name)}
            rightSection={
              <Text size="xs" span className="lk-health" data-health={summary.color}>
                <span aria-hidden>{summary.icon}</span> {summary.words}
              </Text>
            }
          />
        );
      })}
    </Stack>
  );
}
