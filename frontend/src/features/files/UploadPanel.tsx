import { Alert, Button, Group, Paper, Progress, Stack, Text } from "@mantine/core";
import { IconAlertTriangle, IconCheck, IconCloudOff, IconFileOff, IconLoader2, IconPlayerPause, IconX } from "@tabler/icons-react";
import type { Skipped } from "./collect";
import { formatBytes, plural } from "./format";
import type { QueueSnapshot, UploadItem, UploadQueue } from "./uploadQueue";

const SHOWN = 200; // rows listed at most; the overall bar counts every file

const STATUS: Record<UploadItem["status"], { words: string; icon: typeof IconCheck; color: string }> = {
  queued: { words: "Waiting its turn", icon: IconPlayerPause, color: "gray" },
  uploading: { words: "Uploading", icon: IconLoader2, color: "blue" },
  waiting: { words: "Paused: the server is not answering", icon: IconCloudOff, color: "orange" },
  done: { words: "Uploaded", icon: IconCheck, color: "green" },
  failed: { words: "Not uploaded", icon: IconAlertTriangle, color: "red" },
  cancelled: { words: "Cancelled", icon: IconX, color: "gray" },
};

function percent(part: number, whole: number): number {
  return whole === 0 ? 100 : Math.floor((part / whole) * 100);
}

function UploadRow({ item, queue }: { item: UploadItem; queue: UploadQueue }) {
  const status = STATUS[item.status];
  const Icon = status.icon;
  return (
    <li>
      <Stack gap={4} py={6}>
        <Group justify="space-between" wrap="nowrap" gap="xs">
          <Text size="sm" style={{ wordBreak: "break-all" }}>
            {item.path}
          </Text>
          <Group gap="xs" wrap="nowrap">
            <Text size="sm" c={status.color === "gray" ? "dimmed" : undefined}>
              <Icon size={14} aria-hidden="true" style={{ verticalAlign: "middle", marginRight: 4 }} />
              {status.words}
              {item.status === "uploading" || item.status === "waiting"
                ? ` · ${formatBytes(item.sent)} of ${formatBytes(item.size)}`
                : item.status === "done"
                  ? ` · ${formatBytes(item.size)}`
                  : ""}
              {item.resumedFrom > 0 && item.status !== "done" ? ` · went on from ${formatBytes(item.resumedFrom)}` : ""}
              {item.discarded > 0 ? ` · started again: the ${formatBytes(item.discarded)} an earlier upload left did not match this file` : ""}
            </Text>
            {item.status === "failed" || item.status === "cancelled" ? (
              <Button size="compact-xs" variant="default" onClick={() => queue.retry(item.id)} aria-label={`Try ${item.name} again`}>
                Try again
              </Button>
            ) : null}
            {item.status === "failed" && item.exists ? (
              <Button size="compact-xs" variant="default" onClick={() => queue.replace(item.id)} aria-label={`Replace the ${item.name} that is there`}>
                Replace it
              </Button>
            ) : null}
            {item.status === "queued" || item.status === "uploading" || item.status === "waiting" ? (
              <Button size="compact-xs" variant="subtle" color="gray" onClick={() => queue.cancel(item.id)} aria-label={`Cancel ${item.name}`}>
                Cancel
              </Button>
            ) : null}
          </Group>
        </Group>
        <Progress
          value={percent(item.sent, item.size)}
          color={status.color}
          size="sm"
          aria-label={`Upload of ${item.path}`}
        />
        {item.problem ? (
          <Text size="sm" c="var(--mantine-color-error)">
            {item.problem.message}
            {item.exists
              ? " Choose “Replace it” to put this file in its place, or rename the one that is there first."
              : item.problem.fix
                ? ` What to do: ${item.problem.fix}`
                : ""}
          </Text>
        ) : null}
      </Stack>
    </li>
  );
}

export interface UploadPanelProps {
  snapshot: QueueSnapshot;
  queue: UploadQueue;
  skipped: Skipped[];
  onDismissSkipped: () => void;
}

/** Every upload with its own progress bar, the overall progress, what was skipped, and whether the server is away. */
export function UploadPanel({ snapshot, queue, skipped, onDismissSkipped }: UploadPanelProps) {
  const { items } = snapshot;
  if (items.length === 0 && skipped.length === 0) return null;
  const counted = items.filter((i) => i.status !== "cancelled");
  const done = counted.filter((i) => i.status === "done").length;
  const failed = counted.filter((i) => i.status === "failed").length;
  return (
    <Paper withBorder p="md" mb="md" component="section" aria-label="Uploads">
      <Stack gap="sm">
        {snapshot.serverAway ? (
          <Alert role="alert" color="orange" variant="light" icon={<IconCloudOff aria-hidden="true" />} title="The server is not answering">
            Uploads are paused and go on by themselves when it is back; what already arrived is kept. Check that
            `lorakit serve` is still running.
          </Alert>
        ) : null}
        {items.length > 0 ? (
          <>
            <Group justify="space-between">
              <Text fw={600} role="status">
                {snapshot.active
                  ? `Uploading: ${done} of ${plural(counted.length, "file")} done, ${formatBytes(snapshot.sentBytes)} of ${formatBytes(snapshot.totalBytes)}`
                  : `Uploads finished: ${done} of ${plural(counted.length, "file")} uploaded${failed ? `, ${failed} not` : ""}`}
              </Text>
              <Group gap="xs">
                {failed > 0 ? (
                  <Button size="xs" variant="default" onClick={() => queue.retryFailed()}>
                    Try the failed ones again
                  </Button>
                ) : null}
                <Button size="xs" variant="default" onClick={() => queue.clearFinished()} disabled={snapshot.active && done === 0}>
                  Clear finished
                </Button>
              </Group>
            </Group>
            <Progress value={percent(snapshot.sentBytes, snapshot.totalBytes)} size="lg" aria-label="All uploads" />
            <ul style={{ listStyle: "none", margin: 0, padding: 0, maxHeight: 320, overflowY: "auto" }} aria-label="Files being uploaded">
              {items.slice(0, SHOWN).map((item) => (
                <UploadRow key={item.id} item={item} queue={queue} />
              ))}
            </ul>
            {items.length > SHOWN ? <Text size="sm">… and {items.length - SHOWN} more.</Text> : null}
          </>
        ) : null}
        {skipped.length > 0 ? (
          <Alert color="gray" variant="light" icon={<IconFileOff aria-hidden="true" />} title={`Skipped ${plural(skipped.length, "file")}`}>
            <Text size="sm">These were not uploaded: a folder brings only images and their captions, never hidden files.</Text>
            <ul aria-label="Skipped files">
              {skipped.slice(0, SHOWN).map((s) => (
                <li key={s.relativePath}>
                  <Text size="sm" span>
                    {s.relativePath}: {s.reason}
                  </Text>
                </li>
              ))}
            </ul>
            {skipped.length > SHOWN ? <Text size="sm">… and {skipped.length - SHOWN} more.</Text> : null}
            <Button size="xs" variant="default" onClick={onDismissSkipped}>
              Hide this list
            </Button>
          </Alert>
        ) : null}
      </Stack>
    </Paper>
  );
}
