import { Badge } from "@mantine/core";
import { IconAlertTriangle, IconCheck, IconClock, IconHandStop, IconLoader2, IconPlayerStop, IconX } from "@tabler/icons-react";
import { STATE_WORDS } from "@/api/jobs";

const LOOK: Record<string, { color: string; Icon: typeof IconCheck }> = {
  // Filled, dark enough for white text (contrast of 4.5:1 or more) in both colour schemes.
  queued: { color: "gray.7", Icon: IconClock },
  running: { color: "blue.8", Icon: IconLoader2 },
  completed: { color: "teal.9", Icon: IconCheck },
  stopped: { color: "grape.9", Icon: IconPlayerStop },
  failed: { color: "red.9", Icon: IconX },
  cancelled: { color: "gray.7", Icon: IconHandStop },
  interrupted: { color: "#a63c06", Icon: IconAlertTriangle },
};

/** A job's state in words with an icon (never colour alone). */
export function JobStateBadge({ state }: { state: string }) {
  const look = LOOK[state] ?? { color: "gray.7", Icon: IconClock };
  return (
    <Badge color={look.color} variant="filled" leftSection={<look.Icon size={12} aria-hidden="true" />}>
      {STATE_WORDS[state] ?? state}
    </Badge>
  );
}
