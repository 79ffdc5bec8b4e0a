// A tool's job as it runs and when it ends: state in words with an icon (not colour alone), progress,
// Cancel, the server's plain error, and the result (with a link to the written file in Files).
import { Anchor, Button, Card, Group, Progress, Stack, Text } from "@mantine/core";
import { IconCheck, IconClock, IconLoader2, IconPlayerStop, IconX } from "@tabler/icons-react";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type ReactNode } from "react";
import { Link } from "react-router-dom";
import { ApiError } from "@/api/client";
import { formatEta, jobTitle, STATE_WORDS } from "@/api/jobs";
import { ErrorNotice } from "@/components/ErrorNotice";
import { utilitiesApi } from "./api";
import { filesLink, inspectLink } from "./paths";
import type { Job } from "./types";
import { useFollowJob } from "./useJob";

const ICONS: Record<string, ReactNode> = {
  queued: <IconClock size={16} aria-hidden="true" />,
  running: <IconLoader2 size={16} aria-hidden="true" />,
  completed: <IconCheck size={16} aria-hidden="true" />,
  failed: <IconX size={16} aria-hidden="true" />,
};

export const LINK_STYLE = {
  color: "light-dark(var(--mantine-color-blue-9), var(--mantine-color-blue-3))",
  textDecoration: "underline",
};

export interface JobPanelProps {
  jobId: string;
  /** What to show when the job completed, from its result. */
  children?: (result: Record<string, unknown>, job: Job) => ReactNode;
}

export function JobPanel({ jobId, children }: JobPanelProps) {
  const { job, progress, message, finished, error } = useFollowJob(jobId);
  const [cancelError, setCancelError] = useState<unknown>(null);
  const client = useQueryClient();
  const done = job?.state === "completed";
  useEffect(() => {
    // A tool may have written over a file inspected before: read it again when asked next.
    if (done) void client.invalidateQueries({ queryKey: ["lora", "inspect"] });
  }, [done, client]);
  if (!job) return error ? <ErrorNotice error={error} /> : <Text size="sm">Starting…</Text>;
  const percent = progress?.fraction !== null && progress?.fraction !== undefined ? Math.round(100 * progress.fraction) : null;
  const eta = formatEta(progress?.etaS ?? null);
  const words = STATE_WORDS[job.state] ?? job.state;
  return (
    <Card withBorder padding="sm" aria-label={`${jobTitle(job)}: ${words}`} component="section">
      <Stack gap="xs">
        <Group justify="space-between" gap="xs" role="status" aria-live="polite">
          <Group gap={6}>
            {ICONS[job.state] ?? <IconPlayerStop size={16} aria-hidden="true" />}
            <Text size="sm" fw={600}>
              {jobTitle(job)}: {words}
            </Text>
            {progress && !finished ? <Text size="sm">— {progress.label}</Text> : null}
            {eta && !finished ? <Text size="sm" c="dimmed">({eta})</Text> : null}
          </Group>
          {!finished ? (
            <Button size="compact-sm" variant="default" onClick={() => utilitiesApi.cancel(job.id).catch(setCancelError)}>
              Cancel
            </Button>
          ) : null}
        </Group>
        {!finished ? (
          <Progress.Root size="sm">
            <Progress.Section value={percent ?? 100} animated={percent === null} aria-label={`${jobTitle(job)} progress`} />
          </Progress.Root>
        ) : null}
        {message && !finished ? (
          <Text size="xs" c="dimmed">
            {message}
          </Text>
        ) : null}
        {job.error ? (
          <ErrorNotice
            title={`${jobTitle(job)} failed`}
            error={jobError(job.error)}
          />
        ) : null}
        {cancelError ? <ErrorNotice error={cancelError} /> : null}
        {job.state === "completed" && job.result ? children?.(job.result as Record<string, unknown>, job) : null}
      </Stack>
    </Card>
  );
}

const text = (value: unknown): string | null => (typeof value === "string" && value ? value : null);

/** A failed job's error ({code, message, fix}) as the page shows errors. */
export function jobError(error: Record<string, unknown>): ApiError {
  return new ApiError(0, {
    code: text(error.code) ?? "job",
    message: text(error.message) ?? "The job failed.",
    fix: text(error.fix),
  });
}

/** "Wrote models/loras/x.safetensors" with links: the folder in Files, and inspecting it here. */
export function WrittenFile({ path, inspect = true }: { path: string; inspect?: boolean }) {
  return (
    <Stack gap={4}>
      <Text size="sm">
        Wrote <code>{path}</code>.
      </Text>
      <Group gap="md">
        <Anchor component={Link} to={filesLink(path)} size="sm" style={LINK_STYLE}>
          Show in Files
        </Anchor>
        {inspect ? (
          <Anchor component={Link} to={inspectLink(path)} size="sm" style={LINK_STYLE}>
            Inspect it
          </Anchor>
        ) : null}
      </Group>
    </Stack>
  );
}
