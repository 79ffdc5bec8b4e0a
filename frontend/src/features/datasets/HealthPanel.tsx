/**
 * The health check (a job): damaged files, sizes, captions, trigger word, duplicates. Its findings are listed
 * worst first, each with what to do and, where a fix is safe, a button that applies it (another check job
 * with that fix) and an Undo afterwards.
 */
import { Badge, Button, Group, NumberInput, Paper, Stack, Text, TextInput } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { datasetApi } from "./api";
import { ErrorNotice } from "@/components/ErrorNotice";
import { FIX_LABELS, SEVERITY, inDataset, sortedFindings } from "./health";
import { imagesKey, useFollowJob } from "./hooks";
import { JobStatus } from "./JobStatus";
import type { FixResult, HealthReport, Job } from "./types";

export interface HealthPanelProps {
  dataset: string;
  /** The newest finished check of this dataset, if any. */
  latest: { job: Job; report: HealthReport } | undefined;
}

export function HealthPanel({ dataset, latest }: HealthPanelProps) {
  const client = useQueryClient();
  const [resolution, setResolution] = useState<number | string>((latest?.job.params.resolution as number) ?? "");
  const [trigger, setTrigger] = useState<string>((latest?.job.params.trigger_word as string) ?? "");
  const [jobId, setJobId] = useState<string | null>(null);
  const [fixing, setFixing] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [fixes, setFixes] = useState<FixResult[]>([]);
  const [undone, setUndone] = useState<Set<string>>(new Set());

  const followed = useFollowJob(jobId, (job) => {
    if (job.state === "completed") {
      const result = job.result as unknown as HealthReport;
      if (result.fixes?.length) setFixes(result.fixes);
      void client.invalidateQueries({ queryKey: ["jobs", "list", "health"] });
      if (result.fixes?.length) {
        void client.invalidateQueries({ queryKey: imagesKey(dataset) });
        void client.invalidateQueries({ queryKey: ["datasets"] });
      }
    }
    setFixing(null);
  });
  const finishedReport =
    followed.job?.state === "completed" ? (followed.job.result as unknown as HealthReport) : undefined;
  const report = finishedReport ?? latest?.report;
  const running = !!jobId && !followed.finished;

  const start = async (fixIds: string[] = []) => {
    setError(null);
    const body: Record<string, unknown> = {};
    if (resolution !== "") body.resolution = Number(resolution);
    if (trigger.trim()) body.trigger_word = trigger.trim();
    if (fixIds.length) body.fixes = fixIds;
    try {
      const job = await datasetApi.health(dataset, body);
      setFixing(fixIds[0] ?? null);
      if (!fixIds.length) setFixes([]);
      setJobId(job.id);
    } catch (e) {
      setError(e);
    }
  };

  const undoFix = async (fix: FixResult) => {
    setError(null);
    try {
      if (fix.journal_id) await datasetApi.undo(dataset, fix.journal_id);
      for (const id of fix.trashed) await datasetApi.restore(id);
      setUndone(new Set([...undone, fix.fix_id]));
      void client.invalidateQueries({ queryKey: imagesKey(dataset) });
      void client.invalidateQueries({ queryKey: ["datasets"] });
    } catch (e) {
      setError(e);
    }
  };

  return (
    <Stack gap="sm">
      <Text size="sm" c="dimmed">
        Checks every image and caption: damaged or tiny images, missing captions, the trigger word, duplicates,
        and how the images fall into training buckets.
      </Text>
      <Group align="flex-end" gap="xs">
        <NumberInput
          label="Training resolution"
          description="512 for SD 1.5, 1024 for SDXL"
          placeholder="512"
          min={64}
          max={4096}
          step={64}
          value={resolution}
          onChange={setResolution}
          size="xs"
          w={150}
        />
        <TextInput
          label="Trigger word"
          description="Checked in every caption"
          placeholder="e.g. ohwx"
          value={trigger}
          onChange={(e) => setTrigger(e.currentTarget.value)}
          size="xs"
          w={150}
        />
        <Button onClick={() => void start()} loading={running && !fixing} disabled={running} size="xs">
          Run health check
        </Button>
      </Group>
      {jobId && <JobStatus followed={followed} label={fixing ? `Fix (${FIX_LABELS[fixing] ?? fixing})` : "Health check"} />}
      {error ? <ErrorNotice error={error} /> : null}
      {fixes.map((fix) => (
        <Paper key={fix.fix_id} withBorder p="xs" role="status">
          <Group justify="space-between" gap="xs">
            <Text size="sm">
              <span aria-hidden>✓</span> {FIX_LABELS[fix.fix_id] ?? fix.fix_id}: {undone.has(fix.fix_id) ? "undone." : fix.message}
              {!undone.has(fix.fix_id) && fix.trashed.length
                ? ` ${fix.trashed.length} ${fix.trashed.length === 1 ? "file is" : "files are"} in the trash (Files page).`
                : ""}
            </Text>
            {!undone.has(fix.fix_id) && (fix.journal_id || fix.trashed.length > 0) && (
              <Button size="compact-xs" variant="default" onClick={() => void undoFix(fix)}>
                Undo
              </Button>
            )}
          </Group>
        </Paper>
      ))}
      {report && (
        <Stack gap="xs" role="region" aria-label="Health findings">
          <Text size="sm" fw={600}>
            {report.images} images, {report.readable} readable.{" "}
            {report.findings.length === 0 ? "No problems found." : `${report.findings.length} findings:`}
          </Text>
          <ul className="lk-findings">
            {sortedFindings(report.findings).map((finding) => {
              const severity = SEVERITY[finding.severity];
              return (
                <li key={finding.kind}>
                  <Paper withBorder p="xs" className="lk-finding" data-severity={finding.severity}>
                    <Stack gap={4}>
                      <Group gap="xs" wrap="nowrap" align="flex-start">
                        <Badge variant="default" leftSection={<span aria-hidden>{severity.icon}</span>}>
                          {severity.word}
                        </Badge>
                        <Text size="sm" fw={500}>
                          {finding.title}
                        </Text>
                      </Group>
                      {finding.files.length > 0 && (
                        <Text size="xs" c="dimmed">
                          {finding.files.slice(0, 5).map((f) => inDataset(dataset, f)).join(", ")}
                          {finding.files.length > 5 ? ` and ${finding.files.length - 5} more` : ""}
                        </Text>
                      )}
                      <Text size="sm">
                        <strong>What to do:</strong> {finding.fix}
                      </Text>
                      {finding.fix_id && (
                        <Group>
                          <Button
                            size="compact-xs"
                            variant="light"
                            disabled={running}
                            onClick={() => void start([finding.fix_id!])}
                          >
                            Fix: {FIX_LABELS[finding.fix_id] ?? finding.fix_id}
                          </Button>
                        </Group>
                      )}
                    </Stack>
                  </Paper>
                </li>
              );
            })}
          </ul>
        </Stack>
      )}
    </Stack>
  );
}
