import { Anchor, Badge, Button, Group, Popover, Progress, Stack, Text, ThemeIcon } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation, useQuery } from "@tanstack/react-query";
import { IconCheck, IconClock, IconLoader2, IconPlugConnectedX, IconX } from "@tabler/icons-react";
import { useRef, useState } from "react";
import { Link } from "react-router-dom";
import { api, unwrap } from "@/api/client";
import { asApiError } from "@/api/errors";
import { formatEta, isActive, jobTitle, type Job, type Progress as JobProgress, progressFromEvent, STATE_WORDS } from "@/api/jobs";
import { JOBS_KEY, useJobEvents, useJobUpdates, useSocketStatus } from "@/api/jobsSocketContext";
import { ErrorNotice } from "@/components/ErrorNotice";

export const ACTIVE_JOBS_KEY = [...JOBS_KEY, "active"] as const;

/** Running and waiting jobs, live from /ws, on every page: progress, cancel, a note when one ends. */
export function JobTray() {
  const [opened, setOpened] = useState(false);
  const status = useSocketStatus();
  const jobs = useQuery({
    queryKey: ACTIVE_JOBS_KEY,
    queryFn: () => unwrap(api.GET("/api/jobs", { params: { query: { state: ["queued", "running"], limit: 50 } } })),
    refetchInterval: status === "open" ? false : 5_000,
  });
  const active = (jobs.data ?? []).filter(isActive);
  const noted = useRef(new Set<string>());
  useJobUpdates((job) => {
    // Once per job: its end can reach us twice (the state feed, and a subscription's snapshot).
    if (isActive(job) || !active.some((a) => a.id === job.id) || noted.current.has(job.id)) return;
    noted.current.add(job.id);
    const ok = job.state === "completed";
    const problem = job.error && typeof job.error.message === "string" ? ` ${job.error.message}` : "";
    notifications.show({
      color: ok ? "green" : "red",
      icon: ok ? <IconCheck aria-hidden="true" size={18} /> : <IconX aria-hidden="true" size={18} />,
      title: `${jobTitle(job)}: ${STATE_WORDS[job.state] ?? job.state}`,
      message: ok ? "Finished." : `${problem || "It did not finish."} See the Jobs page for its log.`,
    });
  });
  // Progress is followed while a job is active, whether the tray is open or not (no replay on each opening).
  const [progress, setProgress] = useState<Record<string, JobProgress>>({});
  const running = active.filter((job) => job.state === "running").length;
  const label =
    active.length === 0 ? "No jobs running" : `${running} running, ${active.length - running} waiting`;
  return (
    <Group gap="xs" wrap="nowrap">
      {active.map((job) => (
        <ProgressWatcher
          key={job.id}
          jobId={job.id}
          onProgress={(next) => setProgress((all) => ({ ...all, [job.id]: next }))}
        />
      ))}
      {status === "reconnecting" ? (
        <Badge
          color="orange"
          variant="light"
          leftSection={<IconPlugConnectedX aria-hidden="true" size={14} />}
          role="status"
        >
          Reconnecting to the server…
        </Badge>
      ) : null}
      <Popover opened={opened} onChange={setOpened} position="bottom-end" width={380} trapFocus shadow="md">
        <Popover.Target>
          <Button
            variant="default"
            onClick={() => setOpened((o) => !o)}
            aria-expanded={opened}
            aria-haspopup="dialog"
            aria-label={`Jobs: ${label}`}
            leftSection={
              running ? <IconLoader2 aria-hidden="true" size={16} /> : <IconClock aria-hidden="true" size={16} />
            }
          >
            {active.length ? `Jobs (${active.length})` : "Jobs"}
          </Button>
        </Popover.Target>
        <Popover.Dropdown aria-label="Running jobs">
          <Stack gap="sm">
            <Text fw={700}>Running jobs</Text>
            {jobs.error ? <ErrorNotice error={jobs.error} onRetry={() => void jobs.refetch()} /> : null}
            {!jobs.error && active.length === 0 ? (
              <Text size="sm" c="dimmed">
                Nothing is running. Long work (imports, tagging, training, downloads) shows up here.
              </Text>
            ) : null}
            {active.map((job) => (
              <JobRow key={job.id} job={job} progress={progress[job.id] ?? null} />
            ))}
          </Stack>
        </Popover.Dropdown>
      </Popover>
    </Group>
  );
}

function ProgressWatcher({ jobId, onProgress }: { jobId: string; onProgress: (progress: JobProgress) => void }) {
  useJobEvents(jobId, (event) => {
    const next = progressFromEvent(event);
    if (next) onProgress(next);
  });
  return null;
}

export function JobRow({ job, progress }: { job: Job; progress: JobProgress | null }) {
  const cancel = useMutation({
    mutationFn: () => unwrap(api.POST("/api/jobs/{job_id}/cancel", { params: { path: { job_id: job.id } } })),
  });
  const title = jobTitle(job);
  const eta = formatEta(progress?.etaS ?? null);
  return (
    <Stack gap={4} aria-label={title} role="group">
      <Group justify="space-between" wrap="nowrap">
        <Group gap={6} wrap="nowrap">
          <ThemeIcon size="sm" variant="light" color={job.state === "running" ? "blue" : "gray"} aria-hidden="true">
            {job.state === "running" ? <IconLoader2 size={14} /> : <IconClock size={14} />}
          </ThemeIcon>
          {job.kind === "train" ? (
            <Anchor component={Link} to={`/runs/${encodeURIComponent(job.id)}`} size="sm" fw={600} lineClamp={1}>
              {title}
            </Anchor>
          ) : (
            <Text size="sm" fw={600} lineClamp={1}>
              {title}
            </Text>
          )}
        </Group>
        <Button
          size="compact-xs"
          variant="default"
          onClick={() => cancel.mutate()}
          loading={cancel.isPending}
          disabled={job.cancel_requested || cancel.isSuccess}
          aria-label={`Cancel ${title}`}
        >
          {job.cancel_requested || cancel.isSuccess ? "Cancelling…" : "Cancel"}
        </Button>
      </Group>
      <Progress
        value={progress?.fraction != null ? progress.fraction * 100 : job.state === "running" ? 100 : 0}
        striped={progress?.fraction == null && job.state === "running"}
        animated={progress?.fraction == null && job.state === "running"}
        aria-label={`Progress of ${title}`}
        size="sm"
      />
      <Text size="xs" c="dimmed">
        {STATE_WORDS[job.state] ?? job.state}
        {progress ? ` · ${progress.label}` : ""}
        {eta ? ` · ${eta}` : ""}
      </Text>
      {cancel.error ? <ErrorNotice error={asApiError(cancel.error)} title="Could not cancel" /> : null}
    </Stack>
  );
}
