// Every tool's frame: its fields, the start button (it says why it is disabled), the server's plain error
// when the job is refused, then the job's progress and result.
import { Button, Group, Stack, Text } from "@mantine/core";
import { IconPlayerPlay } from "@tabler/icons-react";
import { useState, type ReactNode } from "react";
import { ErrorNotice } from "@/components/ErrorNotice";
import { JobPanel } from "./JobPanel";
import type { Job } from "./types";

export interface ToolFormProps {
  /** The start button's words, e.g. "Resize". */
  action: string;
  /** Why the job cannot start yet (shown next to the disabled button), or null. */
  missing: string | null;
  start: () => Promise<Job>;
  children: ReactNode;
  result: (result: Record<string, unknown>, job: Job) => ReactNode;
}

export function ToolForm({ action, missing, start, children, result }: ToolFormProps) {
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Stack gap="md">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (missing || busy) return;
          setBusy(true);
          setError(null);
          start()
            .then((job) => setJobId(job.id))
            .catch(setError)
            .finally(() => setBusy(false));
        }}
      >
        <Stack gap="sm">
          {children}
          <Group gap="sm">
            <Button
              type="submit"
              leftSection={<IconPlayerPlay size={16} aria-hidden="true" />}
              disabled={!!missing}
              loading={busy}
              aria-describedby={missing ? `${action}-missing` : undefined}
            >
              {action}
            </Button>
            {missing ? (
              <Text size="sm" c="dimmed" id={`${action}-missing`}>
                {missing}
              </Text>
            ) : (
              <Text size="sm" c="dimmed">
                Runs as a job: follow it here or in the Jobs tray.
              </Text>
            )}
          </Group>
        </Stack>
      </form>
      {error ? <ErrorNotice title={`${action} did not start`} error={error} /> : null}
      {jobId ? (
        <JobPanel key={jobId} jobId={jobId}>
          {result}
        </JobPanel>
      ) : null}
    </Stack>
  );
}
