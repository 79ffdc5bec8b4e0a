/**
 * Drop images onto the dataset (or pick them with the button) to add them. Non-images and hidden files are
 * skipped and listed; each image is uploaded in chunks through the Files API; a name already taken is
 * refused by the server and listed, never overwritten.
 */
import { Button, Group, Progress, Stack, Text } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type DragEvent, type ReactNode } from "react";

import { asApiError } from "@/api/client";

import { datasetApi } from "./api";
import { imagesKey } from "./hooks";
import { splitDropped } from "./paths";

interface Outcome {
  done: number;
  total: number;
  skipped: string[];
  failed: { name: string; why: string }[];
}

export function ImageDrop({ dataset, children }: { dataset: string; children: ReactNode }) {
  const client = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const busy = !!outcome && outcome.done < outcome.total;

  const add = async (files: File[]) => {
    const { accepted, skipped } = splitDropped(files);
    const state: Outcome = { done: 0, total: accepted.length, skipped, failed: [] };
    setOutcome({ ...state });
    for (const file of accepted) {
      try {
        await datasetApi.upload(`datasets/${dataset}/${file.name}`, file);
      } catch (e) {
        state.failed.push({ name: file.name, why: asApiError(e).message });
      }
      state.done += 1;
      setOutcome({ ...state, failed: [...state.failed] });
    }
    void client.invalidateQueries({ queryKey: imagesKey(dataset) });
    void client.invalidateQueries({ queryKey: ["datasets"] });
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    void add([...event.dataTransfer.files]);
  };

  return (
    <div
      className={over ? "lk-drop lk-drop-over" : "lk-drop"}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes("Files")) {
          e.preventDefault();
          setOver(true);
        }
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
      data-testid="image-drop"
    >
      <Stack gap={4} mb="xs">
        <Group gap="xs">
          <Button size="xs" variant="default" onClick={() => input.current?.click()} disabled={busy}>
            Add images…
          </Button>
          <Text size="xs" c="dimmed">
            or drop images (and their .txt captions) anywhere on the grid.
          </Text>
          <input
            ref={input}
            type="file"
            multiple
            accept="image/*,.txt,.caption"
            hidden
            aria-label="Images to add"
            onChange={(e) => {
              void add([...(e.currentTarget.files ?? [])]);
              e.currentTarget.value = "";
            }}
          />
        </Group>
        {outcome && (
          <Stack gap={2} role="status">
            <Text size="xs">
              {busy ? `Adding ${outcome.done} of ${outcome.total} files…` : `Added ${outcome.done - outcome.failed.length} of ${outcome.total} files.`}
            </Text>
            {busy && (
              <Progress.Root size="xs">
                <Progress.Section value={outcome.total ? (100 * outcome.done) / outcome.total : 0} aria-label="Adding images" />
              </Progress.Root>
            )}
            {outcome.skipped.length > 0 && (
              <Text size="xs" c="dimmed">
                Skipped: {outcome.skipped.join(", ")}
              </Text>
            )}
            {outcome.failed.map((f) => (
              <Text size="xs" c="red" key={f.name}>
                <span aria-hidden>✗</span> {f.name}: {f.why}
              </Text>
            ))}
          </Stack>
        )}
      </Stack>
      {children}
      {over && (
        <div className="lk-drop-hint" aria-hidden>
          Drop to add to {dataset}
        </div>
      )}
    </div>
  );
}
