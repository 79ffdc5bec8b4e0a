// The Jobs page: every job with its state, kind, times and result; filters; cancel, retry, resume; its log.
import { Anchor, Button, Card, Group, MultiSelect, Select, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { IconPlayerPlay, IconRefresh, IconSearch, IconX } from "@tabler/icons-react";
import { useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { isActive, type Job, jobTitle, STATE_WORDS } from "@/api/jobs";
import { ErrorNotice } from "@/components/ErrorNotice";
import { EventLogView } from "@/components/EventLogView";
import { JobStateBadge } from "@/components/JobStateBadge";
import { PageHeader } from "@/components/PageHeader";
import { useAllJobs, useJobAction, useJobLog } from "./api";
import { filterJobs, formatDuration, formatTime, resultSummary } from "./format";

export default function JobsPage() {
  const jobs = useAllJobs();
  const [params, setParams] = useSearchParams();
  const states = params.getAll("state");
  const kind = params.get("kind");
  const [text, setText] = useState("");
  const selected = params.get("job");
  const all = jobs.data ?? [];
  const kinds = [...new Set(all.map((j) => j.kind))].sort();
  const shown = filterJobs(all, { states, kind, text });
  const set = (key: string, values: string[]) => {
    const next = new URLSearchParams(params);
    next.delete(key);
    for (const v of values) next.append(key, v);
    setParams(next, { replace: true });
  };
  const selectedJob = all.find((j) => j.id === selected) ?? null;
  return (
    <>
      <PageHeader
        title="Jobs"
        purpose="Every job the server has run or is running, with its progress and its log."
        action={
          <Button component={Link} to="/training" color="blue.8">
            Start a training
          </Button>
        }
      />
      <Stack gap="lg">
        <Group align="flex-end" gap="sm" wrap="wrap" role="search" aria-label="Filter jobs">
          <MultiSelect
            label="State"
            placeholder={states.length ? undefined : "Any state"}
            data={Object.entries(STATE_WORDS).map(([value, label]) => ({ value, label }))}
            value={states}
            onChange={(v) => set("state", v)}
            clearable
            w={280}
          />
          <Select
            label="Kind"
            placeholder="Any kind"
            data={kinds}
            value={kind}
            onChange={(v) => set("kind", v ? [v] : [])}
            clearable
            w={180}
          />
          <TextInput
            label="Name contains"
            leftSection={<IconSearch size={14} aria-hidden="true" />}
            value={text}
            onChange={(e) => setText(e.currentTarget.value)}
            w={220}
          />
          <Text size="sm" c="dimmed" role="status">
            {shown.length} of {all.length} jobs
          </Text>
        </Group>
        {jobs.error ? <ErrorNotice error={jobs.error} onRetry={() => void jobs.refetch()} /> : null}
        <Card withBorder p={0}>
          <Table.ScrollContainer minWidth={800}>
            <Table highlightOnHover verticalSpacing="xs" aria-label="Jobs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Job</Table.Th>
                  <Table.Th>Kind</Table.Th>
                  <Table.Th>State</Table.Th>
                  <Table.Th>Started</Table.Th>
                  <Table.Th>Took</Table.Th>
                  <Table.Th>Result</Table.Th>
                  <Table.Th>Actions</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {shown.map((job) => (
                  <JobRow key={job.id} job={job} selected={job.id === selected} onShow={() => set("job", job.id === selected ? [] : [job.id])} />
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {!jobs.isLoading && shown.length === 0 ? (
            <Text p="md" size="sm" c="dimmed">
              {all.length ? "No job matches these filters." : "No jobs yet. Imports, tagging, training and downloads show up here."}
            </Text>
          ) : null}
        </Card>
        {selectedJob ? <JobLog key={selectedJob.id} job={selectedJob} /> : null}
      </Stack>
    </>
  );
}

function JobRow({ job, selected, onShow }: { job: Job; selected: boolean; onShow: () => void }) {
  const action = useJobAction();
  const navigate = useNavigate();
  const title = jobTitle(job);
  const finished = !isActive(job);
  return (
    <>
      <Table.Tr aria-selected={selected} data-job={job.id}>
        <Table.Td>
          {job.kind === "train" ? (
            <Anchor component={Link} to={`/runs/${encodeURIComponent(job.id)}`} fw={600}>
              {title}
            </Anchor>
          ) : (
            <Text fw={600} size="sm">
              {title}
            </Text>
          )}
          <Text size="xs" c="dimmed" ff="monospace">
            {job.id}
          </Text>
        </Table.Td>
        <Table.Td>{job.kind}</Table.Td>
        <Table.Td>
          <JobStateBadge state={job.state} />
        </Table.Td>
        <Table.Td>
          <Text size="sm">{formatTime(job.started_at ?? job.created_at)}</Text>
        </Table.Td>
        <Table.Td>
          <Text size="sm">{formatDuration(job)}</Text>
        </Table.Td>
        <Table.Td>
          <Text size="sm" lineClamp={2} style={{ overflowWrap: "anywhere" }}>
            {resultSummary(job)}
          </Text>
        </Table.Td>
        <Table.Td>
          <Group gap={4} wrap="nowrap">
            <Button size="compact-sm" variant="default" onClick={onShow} aria-expanded={selected} aria-label={`${selected ? "Hide" : "Show"} the log of ${title}`}>
              {selected ? "Hide log" : "Log"}
            </Button>
            {!finished ? (
              <Button size="compact-sm" variant="default" leftSection={<IconX size={12} aria-hidden="true" />} loading={action.isPending} disabled={job.cancel_requested} onClick={() => action.mutate({ job, action: "cancel" })} aria-label={`Cancel ${title}`}>
                {job.cancel_requested ? "Cancelling…" : "Cancel"}
              </Button>
            ) : null}
            {job.resumable ? (
              <Button
                size="compact-sm"
                color="blue.8"
                leftSection={<IconPlayerPlay size={12} aria-hidden="true" />}
                loading={action.isPending}
                onClick={() =>
                  action.mutate({ job, action: "resume" }, { onSuccess: (next) => next.kind === "train" && navigate(`/runs/${encodeURIComponent(next.id)}`) })
                }
                aria-label={`Resume ${title}`}
              >
                Resume
              </Button>
            ) : null}
            {finished ? (
              <Button size="compact-sm" variant="default" leftSection={<IconRefresh size={12} aria-hidden="true" />} loading={action.isPending} onClick={() => action.mutate({ job, action: "retry" })} aria-label={`Retry ${title}`}>
                Retry
              </Button>
            ) : null}
          </Group>
        </Table.Td>
      </Table.Tr>
      {action.error ? (
        <Table.Tr>
          <Table.Td colSpan={7}>
            <ErrorNotice error={action.error} title={`Could not do that to ${title}`} />
          </Table.Td>
        </Table.Tr>
      ) : null}
    </>
  );
}

function JobLog({ job }: { job: Job }) {
  const { lines, error } = useJobLog(job.id);
  return (
    <Card withBorder component="section" aria-labelledby="job-log-title">
      <Title order={2} size="h4" id="job-log-title" mb="xs">
        Log of {jobTitle(job)}
      </Title>
      {job.error && typeof job.error.message === "string" ? (
        <ErrorNotice error={{ message: job.error.message, fix: job.error.fix }} title="Why it failed" />
      ) : null}
      {error ? <ErrorNotice error={error} title="Could not load the log" /> : null}
      <EventLogView lines={lines} label={`Log of ${jobTitle(job)}`} />
    </Card>
  );
}
