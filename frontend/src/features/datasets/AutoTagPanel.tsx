/**
 * Automatic captions as jobs: WD14 tags (threshold, MCut, character threshold, tags to leave out) and
 * sentence captions from an image-to-text model. Both follow live and can be undone from the edit history.
 */
import { Button, Divider, Group, NumberInput, Select, Stack, Switch, TagsInput, Text, TextInput } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { datasetApi } from "./api";
import { ErrorNotice } from "@/components/ErrorNotice";
import { imagesKey, useFollowJob } from "./hooks";
import { JobStatus } from "./JobStatus";

const EXISTING = [
  { value: "skip", label: "Leave them as they are" },
  { value: "append", label: "Add the new tags after them" },
  { value: "overwrite", label: "Replace them" },
];

const CAPTION_MODES = [
  { value: "replace", label: "Replace the caption" },
  { value: "before_tags", label: "Put the sentence before the tags" },
  { value: "after_tags", label: "Put the sentence after the tags" },
  { value: "skip_existing", label: "Only images without a caption" },
];

export function AutoTagPanel({ dataset, selection }: { dataset: string; selection: string[] }) {
  const client = useQueryClient();
  const taggers = useQuery({ queryKey: ["models", "taggers"], queryFn: datasetApi.taggers });
  const [model, setModel] = useState<string | null>(null);
  const [threshold, setThreshold] = useState<number | string>("");
  const [mcut, setMcut] = useState(false);
  const [characterThreshold, setCharacterThreshold] = useState<number | string>(0.85);
  const [characterMcut, setCharacterMcut] = useState(false);
  const [undesired, setUndesired] = useState<string[]>([]);
  const [existing, setExisting] = useState("skip");
  const [onlySelected, setOnlySelected] = useState(false);
  const [captionModel, setCaptionModel] = useState("");
  const [prefix, setPrefix] = useState("");
  const [suffix, setSuffix] = useState("");
  const [mode, setMode] = useState("replace");
  const [jobId, setJobId] = useState<string | null>(null);
  const [jobLabel, setJobLabel] = useState("Tagging");
  const [error, setError] = useState<unknown>(null);
  const followed = useFollowJob(jobId, () => {
    void client.invalidateQueries({ queryKey: imagesKey(dataset) });
  });
  const running = !!jobId && !followed.finished;
  // The library lists a tagger by its model.onnx; the tag job takes the folder holding it (and its tags CSV).
  const folders = [...new Set((taggers.data ?? []).map((m) => m.path.replace(/\/[^/]+\.onnx$/, "")))];
  const options = folders.map((folder) => ({ value: folder, label: folder.replace(/^models\/taggers\//, "") }));
  const chosen = model ?? options[0]?.value ?? null;
  const images = onlySelected && selection.length ? selection : undefined;

  const run = async (label: string, start: () => Promise<{ id: string }>) => {
    setError(null);
    try {
      const job = await start();
      setJobLabel(label);
      setJobId(job.id);
    } catch (e) {
      setError(e);
    }
  };

  const tag = () =>
    run("Tagging", () => {
      const settings: Record<string, unknown> = {
        general_mcut: mcut,
        character_mcut: characterMcut,
        undesired,
        existing,
      };
      if (threshold !== "") settings.general_threshold = Number(threshold);
      if (characterThreshold !== "") settings.character_threshold = Number(characterThreshold);
      return datasetApi.tag(dataset, { model: chosen, settings, ...(images ? { images } : {}) });
    });

  const caption = () =>
    run("Captioning", () =>
      datasetApi.caption(dataset, {
        ...(captionModel.trim() ? { model: captionModel.trim() } : {}),
        settings: { prefix, suffix, mode },
        ...(images ? { images } : {}),
      }),
    );

  return (
    <Stack gap="sm">
      <Switch
        label={`Only the selected images (${selection.length})`}
        description="Otherwise every image of the dataset"
        checked={onlySelected && selection.length > 0}
        disabled={!selection.length}
        onChange={(e) => setOnlySelected(e.currentTarget.checked)}
        size="xs"
      />
      <Text fw={600} size="sm">
        Tag with WD14
      </Text>
      {options.length === 0 && !taggers.isLoading ? (
        <Text size="sm" c="dimmed">
          No tagger yet. Put a WD14 model folder (model.onnx and selected_tags.csv) in models/taggers, or
          download one on the Models page.
        </Text>
      ) : (
        <Select label="Tagger" data={options} value={chosen} onChange={setModel} allowDeselect={false} size="xs" />
      )}
      <Group grow gap="xs" align="flex-start">
        <NumberInput
          label="Tag threshold"
          description="How sure the model must be (0-1). Empty: the model's own default."
          min={0}
          max={1}
          step={0.01}
          decimalScale={2}
          value={threshold}
          onChange={setThreshold}
          disabled={mcut}
          size="xs"
        />
        <NumberInput
          label="Character threshold"
          description="For character names (0-1)."
          min={0}
          max={1}
          step={0.01}
          decimalScale={2}
          value={characterThreshold}
          onChange={setCharacterThreshold}
          disabled={characterMcut}
          size="xs"
        />
      </Group>
      <Switch label="Choose the threshold per image (MCut)" checked={mcut} onChange={(e) => setMcut(e.currentTarget.checked)} size="xs" />
      <Switch
        label="MCut for characters too"
        checked={characterMcut}
        onChange={(e) => setCharacterMcut(e.currentTarget.checked)}
        size="xs"
      />
      <TagsInput
        label="Tags never to write"
        description="Press Enter after each tag."
        value={undesired}
        onChange={setUndesired}
        size="xs"
      />
      <Select label="Images that already have a caption" data={EXISTING} value={existing} onChange={(v) => v && setExisting(v)} allowDeselect={false} size="xs" />
      <Button onClick={() => void tag()} disabled={!chosen || running} size="xs">
        Start tagging
      </Button>
      <Divider />
      <Text fw={600} size="sm">
        Caption with a model
      </Text>
      <TextInput
        label="Captioning model"
        description="A folder under models/ or a Hugging Face repo id. Empty: BLIP large."
        placeholder="Salesforce/blip-image-captioning-large"
        value={captionModel}
        onChange={(e) => setCaptionModel(e.currentTarget.value)}
        size="xs"
      />
      <Group grow gap="xs">
        <TextInput label="Text before" description="e.g. your trigger word" value={prefix} onChange={(e) => setPrefix(e.currentTarget.value)} size="xs" />
        <TextInput label="Text after" value={suffix} onChange={(e) => setSuffix(e.currentTarget.value)} size="xs" />
      </Group>
      <Select label="With existing captions" data={CAPTION_MODES} value={mode} onChange={(v) => v && setMode(v)} allowDeselect={false} size="xs" />
      <Button onClick={() => void caption()} disabled={running} size="xs">
        Start captioning
      </Button>
      {jobId && <JobStatus followed={followed} label={jobLabel} />}
      {followed.job?.state === "completed" && (
        <Text size="sm" role="status">
          Captions written. Undo it with the edit history, if you need to.
        </Text>
      )}
      {error ? <ErrorNotice error={error} /> : null}
    </Stack>
  );
}
