// The page's primary action. When it cannot start, it says why (and stays focusable, so the reason can be read).
import { Button, Stack, Text } from "@mantine/core";
import { IconPlayerPlay } from "@tabler/icons-react";

export interface StartButtonProps {
  reason: string | null;
  loading: boolean;
  onStart: () => void;
  /** Pressed while it cannot start: e.g. move to the first problem. */
  onBlocked: () => void;
}

export function StartButton({ reason, loading, onStart, onBlocked }: StartButtonProps) {
  return (
    <Stack gap={4} align="flex-end" maw={320}>
      <Button
        size="md"
        leftSection={<IconPlayerPlay size={18} aria-hidden="true" />}
        loading={loading}
        data-disabled={reason !== null || undefined}
        aria-disabled={reason !== null}
        aria-describedby={reason ? "start-why" : undefined}
        onClick={() => (reason === null ? onStart() : onBlocked())}
      >
        Start training
      </Button>
      {reason ? (
        <Text id="start-why" size="xs" c="dimmed" ta="right" role="status">
          {reason}
        </Text>
      ) : null}
    </Stack>
  );
}
