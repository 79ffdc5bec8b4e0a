/**
 * Near-duplicate images (a job), each group side by side. "Keep this one" moves the others of the group, with
 * their captions, to the workspace's trash (restorable here with Undo, or later from the Files page).
 */
import { Badge, Button, Group, NumberInput, Paper, Stack, Text } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { datasetApi, thumbnailUrl } from "./api";
import { ErrorNotice } from "@/components/ErrorNotice";
import { inDataset } from "./health";
import { imagesKey, useFollowJob } from "./hooks";
import { baseName } from "./paths";
import { JobStatus } from "./JobStatus";
import { captionPathFor } from "./tags";
import type { DedupReport, TrashEntry } from "./types";

export interface DuplicatesPanelProps {
  dataset: string;
  /** Dataset-relative image path -> whether it has a caption file (only those are trashed with it). */
  hasCaption: (path: string) => boolean;
}

export function DuplicatesPanel({ dataset, hasCaption }: DuplicatesPanelProps) {
  const client = useQueryClient();
  const [threshold, setThreshold] = useState<number | string>(6);
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [resolved, setResolved] = useState<Record<number, { kept: string; trashed: TrashEntry[]; undone?: boolean }>>({});
  const followed = useFollowJob(jobId);
  const report = followed.job?.state === "completed" ? (followed.job.result as unknown as DedupReport) : undefined;

  const refresh = () => {
    void client.invalidateQueries({ queryKey: imagesKey(dataset) });
    void client.invalidateQueries({ queryKey: ["datasets"] });
  };

  const find = async () => {
    setError(null);
    setResolved({});
    try {
      const job = await datasetApi.dedup(dataset, threshold === "" ? {} : { threshold: Number(threshold) });
      setJobId(job.id);
    } catch (e) {
      setError(e);
    }
  };

  const keep = async (index: number, keeper: string, members: string[]) => {
    setError(null);
    const paths: string[] = [];
    for (const member of members) {
      if (member === keeper) continue;
      paths.push(`datasets/${dataset}/${member}`);
      if (hasCaption(member) && captionPathFor(member) !== captionPathFor(keeper)) {
        paths.push(`datasets/${dataset}/${captionPathFor(member)}`);
      }
    }
    try {
      const trashed = await datasetApi.trash(paths);
      setResolved((r) => ({ ...r, [index]: { kept: keeper, trashed } }));
      refresh();
    } catch (e) {
      setError(e);
    }
  };

  const undo = async (index: number) => {
    const done = resolved[index];
    if (!done) return;
    setError(null);
    try {
      for (const item of done.trashed) await datasetApi.restore(item.id);
      setResolved((r) => ({ ...r, [index]: { ...done, undone: true } }));
      refresh();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <Stack gap="sm">
      <Text size="sm" c="dimmed">
        Finds images that look the same (resized, re-saved, slightly edited). Pick the one to keep; the others
        go to the trash with their captions.
      </Text>
      <Group align="flex-end" gap="xs">
        <NumberInput
          label="How different may they be"
          description="0 = identical, 6 = the default, up to 64"
          min={0}
          max={64}
          value={threshold}
          onChange={setThreshold}
          size="xs"
          w={200}
        />
        <Button onClick={() => void find()} disabled={!!jobId && !followed.finished} size="xs">
          Find duplicates
        </Button>
      </Group>
      {jobId && <JobStatus followed={followed} label="Duplicate search" />}
      {error ? <ErrorNotice error={error} /> : null}
      {report && (
        <Text size="sm" fw={600} role="status">
          {report.groups.length === 0
            ? `No duplicates among ${report.images} images.`
            : `${report.groups.length} ${report.groups.length === 1 ? "group" : "groups"} of look-alike images (${report.duplicates} extra).`}
        </Text>
      )}
      {report?.groups.map((group, index) => {
        const members = [group.keeper, ...group.duplicates].map((p) => inDataset(dataset, p));
        const suggested = members[0]!;
        const done = resolved[index];
        return (
          <Paper key={group.keeper} withBorder p="xs" role="group" aria-label={`Duplicate group ${index + 1}`}>
            {done && !done.undone ? (
              <Group justify="space-between">
                <Text size="sm" role="status">
                  <span aria-hidden>✓</span> Kept {baseName(done.kept)}; moved {done.trashed.length}{" "}
                  {done.trashed.length === 1 ? "file" : "files"} to the trash.
                </Text>
                <Button size="compact-xs" variant="default" onClick={() => void undo(index)}>
                  Undo
                </Button>
              </Group>
            ) : (
              <Group gap="sm" align="flex-start">
                {members.map((member) => (
                  <Stack key={member} gap={4} className="lk-dup">
                    <img src={thumbnailUrl(dataset, member)} alt={member} width={140} height={140} className="lk-dup-thumb" />
                    <Text size="xs" className="lk-cell-name" title={member}>
                      {member}
                    </Text>
                    {member === suggested && (
                      <Badge size="xs" variant="light" leftSection={<span aria-hidden>★</span>}>
                        Suggested (largest)
                      </Badge>
                    )}
                    <Button size="compact-xs" variant={member === suggested ? "filled" : "default"} onClick={() => void keep(index, member, members)} aria-label={`Keep this one: ${member}`}>
                      Keep this one
                    </Button>
                  </Stack>
                ))}
              </Group>
            )}
            {done?.undone && (
              <Text size="xs" c="dimmed">
                Undone: the files are back.
              </Text>
            )}
          </Paper>
        );
      })}
    </Stack>
  );
}
