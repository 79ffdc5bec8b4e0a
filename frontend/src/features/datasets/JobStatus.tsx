/** A dataset job's live state: words and an icon (not colour alone), a progress bar, and Cancel. */
import { Button, Group, Progress, Stack, Text } from "@mantine/core";
import { useState } from "react";

import { ApiError } from "@/api/client";

import { datasetApi } from "./api";
import { ErrorNotice } from "@/components/ErrorNotice";
import type { FollowedJob } from "./hooks";

const WORDS: Record<string, [string, string]> = {
  queued: ["⏳", "Waiting to start"],
  running: ["▶", "Running"],
  completed: ["✓", "Finished"],
  stopped: ["■", "Stopped"],
  failed: ["✗", "Failed"],
  cancelled: ["■", "Cancelled"],
  interrupted: ["!", "Interrupted (the server stopped)"],
};

export function JobStatus({ followed, label }: { followed: FollowedJob; label: string }) {
  const { job, progress, message, finished } = followed;
  const [cancelError, setCancelError] = useState<unknown>(null);
  if (!job) return followed.error ? <ErrorNotice error={followed.error} /> : null;
  const [icon, words] = WORDS[job.state] ?? ["·", job.state];
  const percent = progress && progress.fraction !== null ? Math.round(100 * progress.fraction) : null;
  return (
    <Stack gap={4} role="status" aria-live="polite">
      <Group justify="space-between" gap="xs">
        <Text size="sm">
          <span aria-hidden>{icon}</span> {label}: {words}
          {progress && !finished ? ` — ${progress.label}` : ""}
        </Text>
        {!finished && (
          <Button
            size="compact-xs"
            variant="default"
            onClick={() => datasetApi.cancelJob(job.id).catch(setCancelError)}
          >
            Cancel
          </Button>
        )}
      </Group>
      {!finished && (
        <Progress.Root size="sm">
          <Progress.Section value={percent ?? 100} animated={percent === null} aria-label={`${label} progress`} />
        </Progress.Root>
      )}
      {message && !finished ? (
        <Text size="xs" c="dimmed">
          {message}
        </Text>
      ) : null}
      {job.error ? <ErrorNotice title={`${label} failed`} error={new ApiError(0, { code: job.error.code ?? "job", message: job.error.message, fix: job.error.fix ?? null })} /> : null}
      {cancelError ? <ErrorNotice error={cancelError} /> : null}
    </Stack>
  );
}
