/** The dataset's caption edits, newest first (saves, bulk edits, tagging, fixes); the newest can be undone. */
import { Button, Group, Stack, Text } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { datasetApi } from "./api";
import { ErrorNotice } from "@/components/ErrorNotice";
import { historyKey, imagesKey } from "./hooks";

export function HistoryPanel({ dataset }: { dataset: string }) {
  const client = useQueryClient();
  const history = useQuery({ queryKey: historyKey(dataset), queryFn: () => datasetApi.history(dataset) });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const entries = history.data ?? [];

  const undoLatest = async () => {
    const latest = entries[0];
    if (!latest) return;
    setBusy(true);
    setError(null);
    try {
      await datasetApi.undo(dataset, latest.id);
      void client.invalidateQueries({ queryKey: imagesKey(dataset) });
    } catch (e) {
      setError(e);
    } finally {
      void client.invalidateQueries({ queryKey: historyKey(dataset) });
      setBusy(false);
    }
  };

  return (
    <Stack gap="xs">
      <Text size="sm" c="dimmed">
        Every change to the captions is recorded first, so it can be undone exactly, newest first.
      </Text>
      {history.error ? <ErrorNotice error={history.error} /> : null}
      {entries.length === 0 && !history.isLoading && <Text size="sm">No edits yet.</Text>}
      {entries.length > 0 && (
        <Group>
          <Button size="xs" variant="default" onClick={() => void undoLatest()} loading={busy}>
            Undo the newest edit
          </Button>
        </Group>
      )}
      {error ? <ErrorNotice error={error} /> : null}
      <ol className="lk-history">
        {entries.slice(0, 50).map((entry) => (
          <li key={entry.id}>
            <Text size="sm">{entry.description}</Text>
            <Text size="xs" c="dimmed">
              {new Date(entry.time * 1000).toLocaleString()} · {entry.files} {entry.files === 1 ? "file" : "files"}
            </Text>
          </li>
        ))}
      </ol>
    </Stack>
  );
}
