/**
 * The Datasets page: the workspace's datasets with their counts and health; the chosen one's images with
 * their captions (grid or table), tags, bulk edits with Undo, health check and fixes, duplicates, auto-tagging.
 */
import { Loader, Stack, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { useNavigate, useParams } from "react-router-dom";

import { ErrorNotice } from "@/components/ErrorNotice";
import { PageHeader } from "@/components/PageHeader";

import { datasetApi } from "./api";
import { DatasetList } from "./DatasetList";
import { DatasetView } from "./DatasetView";
import { latestHealth } from "./health";
import { useDatasets } from "./hooks";
import "./datasets.css";

export default function DatasetsPage() {
  const params = useParams();
  const navigate = useNavigate();
  const datasets = useDatasets();
  const healthJobs = useQuery({ queryKey: ["jobs", "list", "health"], queryFn: () => datasetApi.jobs("health") });
  const health = useMemo(() => latestHealth(healthJobs.data), [healthJobs.data]);
  const list = datasets.data ?? [];
  const fromUrl = params["*"]?.split("/")[0] || null;
  const selected = fromUrl ?? (list.length === 1 ? list[0]!.name : null);

  return (
    <Stack gap={0}>
      <PageHeader title="Datasets" purpose="See your datasets, check their health and edit the captions of their images." />
      {datasets.error ? <ErrorNotice error={datasets.error} title="The datasets could not be listed" /> : null}
      <div className="lk-page">
        <div className="lk-page-list">
          {datasets.isLoading ? (
            <Loader size="sm" aria-label="Loading the datasets" />
          ) : (
            <DatasetList
              datasets={list}
              health={health}
              selected={selected}
              onSelect={(name) => navigate(`/datasets/${encodeURIComponent(name)}`)}
            />
          )}
        </div>
        <div className="lk-page-main">
          {selected ? (
            <DatasetView key={selected} name={selected} health={health.get(selected)} />
          ) : (
            list.length > 0 && <Text>Choose a dataset on the left.</Text>
          )}
        </div>
      </div>
    </Stack>
  );
}
