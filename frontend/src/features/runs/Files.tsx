// The LoRA files the run produced (and states it saved), each with a link to Utilities.
import { Anchor, Card, List, Text, Title } from "@mantine/core";
import { Link } from "react-router-dom";
import type { SavedFile } from "./runData";

export function Files({ files }: { files: readonly SavedFile[] }) {
  const loras = files.filter((f) => f.kind === "lora");
  const states = files.filter((f) => f.kind !== "lora");
  return (
    <Card withBorder component="section" aria-labelledby="files-title">
      <Title order={2} size="h4" id="files-title" mb="xs">
        Saved files
      </Title>
      {loras.length === 0 ? (
        <Text size="sm" c="dimmed">
          No LoRA file yet: one is written at the end, at each save point, and when you press Save now.
        </Text>
      ) : (
        <List spacing={4} size="sm">
          {loras.map((file) => (
            <List.Item key={`${file.path}-${file.step}`}>
              <Text span size="sm" ff="monospace">
                {file.path}
              </Text>
              {file.step !== null ? ` (step ${file.step})` : ""} ·{" "}
              <Anchor component={Link} to={`/utilities?lora=${encodeURIComponent(file.path)}`}>
                Open in Utilities
              </Anchor>
            </List.Item>
          ))}
        </List>
      )}
      {states.length ? (
        <Text size="xs" c="dimmed" mt="xs">
          Training state saved at step {states.map((s) => s.step ?? "?").join(", ")} (what Resume continues from).
        </Text>
      ) : null}
    </Card>
  );
}
