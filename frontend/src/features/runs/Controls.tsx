// The run's buttons: Stop, Save now, Sample now while it runs; Resume when it can go on.
import { Button, Group } from "@mantine/core";
import { IconDeviceFloppy, IconPhoto, IconPlayerPlay, IconPlayerStop } from "@tabler/icons-react";
import { useNavigate } from "react-router-dom";
import type { Job } from "@/api/jobs";
import { ErrorNotice } from "@/components/ErrorNotice";
import { type Command, useCommand, useResume } from "./api";

const FILLED = "blue.8";

export function Controls({ job }: { job: Job }) {
  const command = useCommand(job.id);
  const resume = useResume();
  const navigate = useNavigate();
  const running = job.state === "running";
  const sent = (name: Command) => command.isPending && command.variables === name;
  return (
    <Group gap="xs" justify="flex-end">
      {running ? (
        <>
          <Button
            variant="default"
            leftSection={<IconDeviceFloppy size={16} aria-hidden="true" />}
            onClick={() => command.mutate("save")}
            loading={sent("save")}
          >
            Save now
          </Button>
          <Button
            variant="default"
            leftSection={<IconPhoto size={16} aria-hidden="true" />}
            onClick={() => command.mutate("sample")}
            loading={sent("sample")}
          >
            Sample now
          </Button>
          <Button
            color={FILLED}
            leftSection={<IconPlayerStop size={16} aria-hidden="true" />}
            onClick={() => command.mutate("stop")}
            loading={sent("stop")}
            disabled={command.isSuccess && command.variables === "stop"}
          >
            {command.isSuccess && command.variables === "stop" ? "Stopping…" : "Stop"}
          </Button>
        </>
      ) : null}
      {job.resumable ? (
        <Button
          color={FILLED}
          leftSection={<IconPlayerPlay size={16} aria-hidden="true" />}
          loading={resume.isPending}
          onClick={() =>
            resume.mutate(job.id, { onSuccess: (next) => navigate(`/runs/${encodeURIComponent(next.id)}`) })
          }
        >
          Resume
        </Button>
      ) : null}
      {command.error ? <ErrorNotice error={command.error} title="The run did not take the command" /> : null}
      {resume.error ? <ErrorNotice error={resume.error} title="Could not resume" /> : null}
    </Group>
  );
}

export const COMMAND_HELP =
  "Stop saves the training state and ends the run (Resume goes on from there). Save now writes the LoRA and the state without stopping. Sample now renders the sample prompts at the current step.";
