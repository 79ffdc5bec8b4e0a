// The latest downloads: live progress, pause and resume, and what to do when one failed.
import { Alert, Anchor, Button, Card, Group, Progress, Stack, Text, Title } from "@mantine/core";
import {
  IconAlertTriangle,
  IconCircleCheck,
  IconClock,
  IconDownload,
  IconKey,
  IconPlayerPause,
  IconPlayerPlay,
  IconX,
} from "@tabler/icons-react";
import { useReducedMotion } from "@mantine/hooks";
import type { ReactNode } from "react";
import { ApiError } from "@/api/client";
import { ErrorNotice } from "@/components/ErrorNotice";
import { type Job, type Service, isActive, useDownloadActions, useDownloads, useJobProgress, useLibrary } from "./api";
import { STATE_WORDS, SERVICE_NAMES, TOKEN_PAGES, familyLabel, formatBytes, formatDuration } from "./format";
import classes from "./models.module.css";
import { focusTokenInput } from "./focus";

const STATE_ICONS: Record<string, ReactNode> = {
  queued: <IconClock size={16} aria-hidden="true" />,
  running: <IconDownload size={16} aria-hidden="true" />,
  completed: <IconCircleCheck size={16} aria-hidden="true" color="var(--mantine-color-green-7)" />,
  stopped: <IconPlayerPause size={16} aria-hidden="true" />,
  failed: <IconAlertTriangle size={16} aria-hidden="true" color="var(--mantine-color-red-7)" />,
  cancelled: <IconX size={16} aria-hidden="true" />,
  interrupted: <IconAlertTriangle size={16} aria-hidden="true" />,
};

const RESUMABLE = new Set(["stopped", "failed", "cancelled", "interrupted"]);

function linkOf(job: Job): string {
  const link = (job.params as { link?: unknown }).link;
  return typeof link === "string" ? link : job.title;
}

function ProgressLine({ job }: { job: Job }) {
  const running = job.state === "running";
  const progress = useJobProgress(job.id, isActive(job));
  const reduceMotion = useReducedMotion();
  if (!running && !progress) return <Text size="sm">Waiting for another job to finish first.</Text>;
  const total = progress?.total ?? null;
  const done = progress?.done ?? 0;
  const percent = total ? Math.min(100, (done / total) * 100) : null;
  const parts = [total ? `${formatBytes(done)} of ${formatBytes(total)}` : `${formatBytes(done)} so far`];
  if (percent !== null) parts.push(`${Math.floor(percent)}%`);
  if (progress?.rate) parts.push(`${formatBytes(progress.rate)}/s`);
  const eta = formatDuration(progress?.etaS);
  if (eta) parts.push(`about ${eta} left`);
  const text = progress ? parts.join(" · ") : "Connecting…";
  return (
    <Stack gap={4}>
      <Progress
        value={percent ?? 100}
        animated={percent === null && !reduceMotion}
        aria-label={`Download progress of ${progress?.file ?? linkOf(job)}`}
        aria-valuetext={text}
      />
      <Text size="sm">{text}</Text>
      {progress?.message && !progress.total ? (
        <Text size="xs" c="dimmed">
          {progress.message}
        </Text>
      ) : null}
    </Stack>
  );
}

/** A download that needs a token: the server's words, and the fix on this page (the token panel). */
function TokenNeeded({ job, service }: { job: Job; service: Service }) {
  const name = SERVICE_NAMES[service];
  const page = TOKEN_PAGES[service];
  return (
    <Alert
      role="alert"
      color="red"
      variant="light"
      icon={<IconKey aria-hidden="true" />}
      title={`${name} needs your access token for this file`}
    >
      <Text size="sm">{job.error?.message as string}</Text>
      <Text size="sm" mt={4}>
        <Text span fw={600}>
          What to do:{" "}
        </Text>
        {service === "huggingface"
          ? "open the model's page on Hugging Face while logged in and accept its licence if it asks; then "
          : ""}
        add your {name} token under Access tokens, or replace it if it is wrong or expired (get one at{" "}
        <Anchor href={page.url} target="_blank" rel="noreferrer noopener" className={classes.link}>
          {page.where}
        </Anchor>
        ), then press Resume.
      </Text>
      <Group mt="sm">
        <Button size="xs" variant="default" leftSection={<IconKey size={14} aria-hidden="true" />} onClick={() => focusTokenInput(service)}>
          Set the {name} token
        </Button>
      </Group>
    </Alert>
  );
}

function Saved({ job }: { job: Job }) {
  const library = useLibrary();
  const result = job.result as { path?: string; skipped?: boolean; size?: number; kind?: string | null };
  const info = library.data?.find((entry) => entry.path === result.path)?.info;
  let what = result.kind ? `${result.kind}, ${formatBytes(result.size)}` : formatBytes(result.size);
  if (info) what = `${info.label}${info.family ? `, family ${familyLabel(info.family)}` : ""}, ${formatBytes(info.file_size)}`;
  return (
    <Text size="sm">
      {result.skipped ? "Already in the library as " : "Saved as "}
      <Text span ff="monospace">
        {result.path}
      </Text>{" "}
      ({what}).
    </Text>
  );
}

function Outcome({ job }: { job: Job }) {
  if (job.state === "completed" && job.result) return <Saved job={job} />;
  if (job.state === "stopped") {
    return <Text size="sm">Paused. What arrived so far is kept: Resume goes on from there.</Text>;
  }
  if (job.error) {
    const error = job.error as { code?: string; field?: string | null; message?: string; fix?: string | null };
    if (error.code === "token_required" && (error.field === "civitai" || error.field === "huggingface")) {
      return <TokenNeeded job={job} service={error.field} />;
    }
    return (
      <ErrorNotice
        title="The download failed"
        error={new ApiError(400, { code: error.code ?? "download", message: error.message ?? "The download failed.", fix: error.fix })}
      />
    );
  }
  if (job.state === "interrupted") return <Text size="sm">The server stopped during this download. Resume goes on where it was.</Text>;
  return null;
}

function DownloadItem({ job }: { job: Job }) {
  const { pause, resume } = useDownloadActions();
  const state = STATE_WORDS[job.state] ?? job.state;
  const link = linkOf(job);
  return (
    <Card withBorder padding="sm" component="li" aria-label={`${state}: ${link}`}>
      <Stack gap="xs">
        <Group justify="space-between" wrap="nowrap" align="flex-start">
          <Stack gap={2} style={{ minWidth: 0 }}>
            <Group gap={6} wrap="nowrap">
              {STATE_ICONS[job.state]}
              <Text size="sm" fw={600}>
                {state}
              </Text>
            </Group>
            <Text size="sm" ff="monospace" style={{ overflowWrap: "anywhere" }}>
              {link}
            </Text>
          </Stack>
          <Group gap="xs" wrap="nowrap">
            {job.state === "running" ? (
              <Button
                size="xs"
                variant="default"
                leftSection={<IconPlayerPause size={14} aria-hidden="true" />}
                loading={pause.isPending}
                onClick={() => pause.mutate(job.id)}
              >
                Pause
              </Button>
            ) : null}
            {RESUMABLE.has(job.state) ? (
              <Button
                size="xs"
                variant="default"
                leftSection={<IconPlayerPlay size={14} aria-hidden="true" />}
                loading={resume.isPending}
                onClick={() => resume.mutate(job.id)}
              >
                Resume
              </Button>
            ) : null}
          </Group>
        </Group>
        {isActive(job) ? <ProgressLine job={job} /> : <Outcome job={job} />}
        {pause.error ? <ErrorNotice error={pause.error} title="Could not pause" /> : null}
        {resume.error ? <ErrorNotice error={resume.error} title="Could not resume" /> : null}
      </Stack>
    </Card>
  );
}

export function Downloads() {
  const downloads = useDownloads();
  const jobs = downloads.data ?? [];
  // A download that was resumed is shown once: as its newest try.
  const replaced = new Set(jobs.map((job) => job.retry_of).filter(Boolean));
  const shown = jobs.filter((job) => !replaced.has(job.id));
  return (
    <section aria-labelledby="downloads-title">
      <Stack gap="sm">
        <Title order={2} size="h4" id="downloads-title">
          Downloads
        </Title>
        {downloads.isError ? <ErrorNotice error={downloads.error} onRetry={() => void downloads.refetch()} /> : null}
        {downloads.isSuccess && shown.length === 0 ? (
          <Text size="sm" c="dimmed">
            No downloads yet. Paste a link above; its progress shows here, and it keeps going if you leave the page.
          </Text>
        ) : null}
        <Stack gap="xs" component="ul" style={{ listStyle: "none", padding: 0, margin: 0 }}>
          {shown.map((job) => (
            <DownloadItem key={job.id} job={job} />
          ))}
        </Stack>
      </Stack>
    </section>
  );
}
