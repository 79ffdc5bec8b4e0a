import { Box, Group, ScrollArea, Text } from "@mantine/core";
import { IconAlertTriangle, IconInfoCircle, IconX } from "@tabler/icons-react";
import { useEffect, useRef } from "react";
import type { LogLine } from "@/lib/eventWords";

const LEVEL = {
  info: { Icon: IconInfoCircle, word: "Info", color: "dimmed" },
  warning: { Icon: IconAlertTriangle, word: "Warning", color: "orange.8" },
  error: { Icon: IconX, word: "Error", color: "red.8" },
} as const;

const clock = (time: number) => new Date(time * 1000).toLocaleTimeString();

/** A job's log in plain words: time, level (icon and word), what happened and, for problems, what to do. */
export function EventLogView({ lines, label, height = 280 }: { lines: readonly LogLine[]; label: string; height?: number }) {
  const viewport = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    const v = viewport.current;
    if (v && stick.current) v.scrollTop = v.scrollHeight;
  }, [lines.length]);
  return (
    <ScrollArea
      h={height}
      viewportRef={viewport}
      onScrollPositionChange={({ y }) => {
        const v = viewport.current;
        if (v) stick.current = y + v.clientHeight >= v.scrollHeight - 8;
      }}
      type="auto"
      offsetScrollbars
    >
      <Box role="log" aria-label={label} tabIndex={0}>
      <Box component="ol" m={0} p={0} style={{ listStyle: "none" }}>
        {lines.length === 0 ? (
          <Text component="li" size="sm" c="dimmed">
            Nothing logged yet.
          </Text>
        ) : null}
        {lines.map((line) => {
          const level = LEVEL[line.level];
          return (
            <Box component="li" key={line.seq} py={2} data-seq={line.seq}>
              <Group gap={6} wrap="nowrap" align="flex-start">
                <Text size="xs" c="dimmed" ff="monospace" style={{ whiteSpace: "nowrap" }}>
                  {clock(line.time)}
                </Text>
                <Text size="xs" c={level.color} style={{ whiteSpace: "nowrap", display: "inline-flex", gap: 2, alignItems: "center" }}>
                  <level.Icon size={12} aria-hidden="true" />
                  {level.word}
                </Text>
                <Text size="sm" style={{ overflowWrap: "anywhere" }}>
                  {line.text}
                  {line.fix ? <Text span size="sm" fw={600}>{` What to do: ${line.fix}`}</Text> : null}
                </Text>
              </Group>
            </Box>
          );
        })}
      </Box>
      </Box>
    </ScrollArea>
  );
}
