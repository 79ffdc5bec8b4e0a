import { Badge } from "@mantine/core";
import { IconAlertTriangle, IconCheck, IconClock, IconHandStop, IconLoader2, IconPlayerStop, IconX } from "@tabler/icons-react";
import { STATE_WORDS } from "@/api/jobs";

const LOOK: Record<string, { color: string; Icon: typeof IconCheck }> = {
  queued: { color: "gray", Icon: IconClock },
  running: { color: "blue", Icon: IconLoader2 },
  completed: { color: "green", Icon: IconCheck },
  stopped: { color: "yellow", Icon: IconPlayerStop },
  failed: { color: "red", Icon: IconX },
  cancelled: { color: "gray", Icon: IconHandStop },
  interrupted: { color: "orange", Icon: IconAlertTriangle },
};

/** A job's state in words with an icon (never colour alone). */
export function JobStateBadge({ state }: { state: string }) {
  const look = LOOK[state] ?? { color: "gray", Icon: IconClock };
  return (
    <Badge color={look.color} variant="light" leftSection={<look.Icon size={12} aria-hidden="true" />}>
      {STATE_WORDS[state] ?? state}
    </Badge>
  );
}
