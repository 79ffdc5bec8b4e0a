import { Alert, Anchor, Button, Group, Loader, Modal, Progress, Stack, Text, TextInput } from "@mantine/core";
import { IconCheck } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { ApiError } from "@/api/client";
import { FINISHED_STATES } from "@/api/jobs";
import { ErrorNotice } from "@/components/ErrorNotice";
import type { FilesApi, Job } from "./api";
import { datasetNameFor, folderHref, plural } from "./format";
import type { UploadItem, UploadQueue } from "./uploadQueue";
import { useQueueSnapshot } from "./uploads";

const FINISHED: readonly string[] = FINISHED_STATES;

function waitForUpload(queue: UploadQueue, id: number): Promise<UploadItem> {
  return new Promise((resolve) => {
    const check = () => {
      const item = queue.getSnapshot().items.find((i) => i.id === id);
      if (item && (item.status === "done" || item.status === "failed" || item.status === "cancelled")) {
        stop();
        resolve(item);
      }
    };
    const stop = queue.subscribe(check);
    check();
  });
}

interface ImportResult {
  imported?: unknown[];
  skipped?: { source: string; reason: string }[];
}

function JobProgress({ jobId, api, to }: { jobId: string; api: FilesApi; to: string }) {
  const client = useQueryClient();
  // A key under "jobs": the shell refreshes it on every job state change from /ws; the interval is a fallback.
  const job = useQuery({
    queryKey: ["jobs", "import", jobId],
    queryFn: () => api.job(jobId),
    refetchInterval: (query) => (query.state.data && FINISHED.includes(query.state.data.state) ? false : 2000),
  });
  const state = job.data?.state;
  useEffect(() => {
    if (state === "completed") void client.invalidateQueries({ queryKey: ["files"] }); // the new dataset folder
  }, [state, client]);
  if (job.error) return <ErrorNotice error={job.error} title="The import's progress cannot be read" onRetry={() => job.refetch()} />;
  const data = job.data as Job | undefined;
  if (!data || !FINISHED.includes(data.state)) {
    return (
      <Group gap="xs" role="status">
        <Loader size="xs" aria-hidden="true" />
        <Text size="sm">Importing into {to}… (a job: it goes on if you close this window; the job tray follows it)</Text>
      </Group>
    );
  }
  if (data.state !== "completed") {
    const error = (data.error ?? {}) as { message?: string; fix?: string | null };
    return (
      <ErrorNotice
        title={`The import ${data.state === "failed" ? "failed" : `was ${data.state}`}`}
        error={new ApiError(0, { code: "job", message: error.message ?? `The import job ended as ${data.state}.`, fix: error.fix ?? null })}
      />
    );
  }
  const result = (data.result ?? {}) as ImportResult;
  const imported = result.imported?.length ?? 0;
  const skipped = result.skipped ?? [];
  return (
    <Alert role="status" color="green" variant="light" icon={<IconCheck aria-hidden="true" />} title={`Imported ${plural(imported, "image")} into ${to}`}>
      {skipped.length > 0 ? (
        <>
          <Text size="sm">Skipped {plural(skipped.length, "file")}:</Text>
          <ul>
            {skipped.slice(0, 50).map((s) => (
              <li key={s.source}>
                <Text size="sm" span>
                  {s.source}: {s.reason}
                </Text>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <Anchor component={Link} to={folderHref(to)} size="sm">
        Open {to}
      </Anchor>
    </Alert>
  );
}

export interface ImportDialogProps {
  api: FilesApi;
  queue: UploadQueue;
  /** Where a chosen ZIP is uploaded first (the folder being browsed, or datasets/ at the top). */
  folder: string;
  /** A ZIP already in the workspace (from its row's menu); without it the user picks one. */
  source?: string;
  onClose: () => void;
}

/** Upload a ZIP (chunked, resumable) and import it as a dataset: a job whose outcome is shown here. */
export function ImportDialog({ api, queue, folder, source, onClose }: ImportDialogProps) {
  const inputId = useId();
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState(source ? datasetNameFor(source.split("/").pop() ?? "") : "");
  const [stage, setStage] = useState<"form" | "uploading" | "starting" | "job">("form");
  const [uploadId, setUploadId] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const snapshot = useQueueSnapshot(queue);
  const upload = uploadId === null ? undefined : snapshot.items.find((i) => i.id === uploadId);
  const to = `datasets/${name.trim()}`;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    if (!source && !file) return setError(new Error("Choose a ZIP file first."));
    if (!name.trim() || name.includes("/")) return setError(new Error("Give the dataset a name without slashes."));
    let zipPath = source ?? "";
    if (!source && file) {
      zipPath = `${folder || "datasets"}/${file.name}`;
      setStage("uploading");
      const [item] = queue.add([{ file, path: zipPath }]);
      if (!item) return;
      setUploadId(item.id);
      const finished = await waitForUpload(queue, item.id);
      if (finished.status !== "done") {
        setStage("form");
        return setError(
          new ApiError(0, {
            code: "upload",
            message: finished.problem?.message ?? "The upload was cancelled.",
            fix: finished.exists
              ? `Import the ${file.name} that is there from its menu in the list (Import as a dataset), or rename this ZIP.`
              : (finished.problem?.fix ?? "Try again."),
          }),
        );
      }
    }
    setStage("starting");
    try {
      const job = await api.importToDataset([zipPath], to);
      setJobId(job.id);
      setStage("job");
    } catch (caught) {
      setError(caught);
      setStage("form");
    }
  }

  return (
    <Modal opened onClose={onClose} title="Import a ZIP as a dataset" centered size="lg" closeButtonProps={{ "aria-label": "Close the dialog" }}>
      <form onSubmit={submit} noValidate>
        <Stack>
          <Text size="sm">
            The images in the ZIP (with their .txt captions, and sd-scripts’ <code>10_name</code> folders) become a
            dataset under datasets/. The import runs as a job; nothing already in the dataset is overwritten.
          </Text>
          {source ? (
            <Text size="sm">
              ZIP: <strong>{source}</strong>
            </Text>
          ) : (
            <div>
              <label htmlFor={inputId} style={{ display: "block", fontWeight: 500, fontSize: "var(--mantine-font-size-sm)" }}>
                ZIP file
              </label>
              <Text size="xs" c="dimmed" id={`${inputId}-help`}>
                It is uploaded to {folder || "datasets"}/ first (resumable), then imported.
              </Text>
              <input
                id={inputId}
                type="file"
                accept=".zip,application/zip"
                aria-describedby={`${inputId}-help`}
                disabled={stage !== "form"}
                onChange={(event) => {
                  const chosen = event.currentTarget.files?.[0] ?? null;
                  setFile(chosen);
                  if (chosen && !name) setName(datasetNameFor(chosen.name));
                }}
              />
            </div>
          )}
          <TextInput
            label="Dataset name"
            description={`The images go to datasets/<name>; an existing dataset of that name gets the new images added.`}
            value={name}
            onChange={(event) => setName(event.currentTarget.value)}
            disabled={stage !== "form"}
            required
          />
          {stage === "uploading" && upload ? (
            <Progress value={upload.size ? Math.floor((upload.sent / upload.size) * 100) : 100} aria-label={`Upload of ${upload.path}`} />
          ) : null}
          {error ? <ErrorNotice error={error} title="The ZIP was not imported" /> : null}
          {jobId ? <JobProgress jobId={jobId} api={api} to={to} /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              {stage === "job" ? "Close" : "Cancel"}
            </Button>
            {stage !== "job" ? (
              <Button type="submit" loading={stage === "uploading" || stage === "starting"}>
                Import
              </Button>
            ) : null}
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
