// Upload to Hugging Face: the card is previewed (POST /api/lora/card) and can be edited before sending; the
// upload sends the card as shown. The token is the one saved on the Models page.
import { ActionIcon, Alert, Anchor, Button, Checkbox, Group, Stack, Text, Textarea, TextInput } from "@mantine/core";
import { IconAlertTriangle, IconEye, IconPlus, IconTrash } from "@tabler/icons-react";
import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { ErrorNotice } from "@/components/ErrorNotice";
import { useHuggingFaceToken, utilitiesApi } from "./api";
import { FilePicker } from "./FilePicker";
import { LINK_STYLE } from "./JobPanel";
import { ToolForm } from "./ToolForm";
import type { UploadBody } from "./types";

const REPO = /^([\w.-]+\/)?[\w.-]+$/;
const lines = (text: string) => text.split("\n").map((l) => l.trim()).filter(Boolean);

export function UploadTool({ lora }: { lora: string }) {
  const [file, setFile] = useState(lora);
  useEffect(() => setFile(lora), [lora]);
  const [repo, setRepo] = useState("");
  const [privateRepo, setPrivateRepo] = useState(true);
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [triggers, setTriggers] = useState("");
  const [prompts, setPrompts] = useState("");
  const [baseModel, setBaseModel] = useState("");
  const [license, setLicense] = useState("");
  const [images, setImages] = useState<{ path: string; prompt: string }[]>([]);
  const [card, setCard] = useState<string | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [previewing, setPreviewing] = useState(false);
  const token = useHuggingFaceToken();

  const body = (): UploadBody => ({
    lora: file.trim(),
    repo_id: repo.trim(),
    private: privateRepo,
    ...(title.trim() ? { title: title.trim() } : {}),
    ...(description.trim() ? { description: description.trim() } : {}),
    ...(triggers.trim() ? { trigger_words: triggers.split(",").map((t) => t.trim()).filter(Boolean) } : {}),
    ...(lines(prompts).length ? { prompts: lines(prompts) } : {}),
    ...(baseModel.trim() ? { base_model: baseModel.trim() } : {}),
    ...(license.trim() ? { license: license.trim() } : {}),
    ...(images.some((i) => i.path.trim())
      ? { images: images.filter((i) => i.path.trim()).map((i): [string, string] => [i.path.trim(), i.prompt.trim()]) }
      : {}),
  });
  const repoError = repo.trim() && !REPO.test(repo.trim()) ? "Letters, digits, - _ . only: name or user/name." : null;
  const formMissing = !file.trim() ? "Choose the LoRA to upload." : !repo.trim() ? "Name the repository." : repoError ? "Correct the repository name." : null;
  const missing = formMissing ?? (token.data && !token.data.set ? "Save a Hugging Face token first (Models page)." : null);

  const preview = () => {
    setPreviewing(true);
    setPreviewError(null);
    utilitiesApi
      .card(body())
      .then((answer) => setCard(answer.card))
      .catch(setPreviewError)
      .finally(() => setPreviewing(false));
  };

  return (
    <ToolForm
      action="Upload"
      missing={missing}
      start={() => utilitiesApi.upload({ ...body(), ...(card !== null ? { card } : {}) })}
      result={(result) => (
        <Text size="sm">
          Published {Array.isArray(result.files) ? result.files.length : ""} files to{" "}
          <Anchor href={String(result.url)} target="_blank" rel="noreferrer" style={LINK_STYLE}>
            {String(result.repo_id)}
          </Anchor>
          .
        </Text>
      )}
    >
      {token.data && !token.data.set ? (
        <Alert color="yellow" icon={<IconAlertTriangle aria-hidden="true" />} title="No Hugging Face token saved">
          <Text size="sm">
            Uploading needs a token with write access. Save one under “Service tokens” on the{" "}
            <Anchor component={Link} to="/models" style={LINK_STYLE}>
              Models page
            </Anchor>
            ; you can preview the card without it.
          </Text>
        </Alert>
      ) : null}
      <FilePicker label="LoRA to upload" value={file} onChange={setFile} startIn="models/loras" accept={[".safetensors"]} required />
      <Group grow align="flex-start">
        <TextInput
          label="Repository"
          description="user/name (or just a name: your account owns it). Created if it does not exist."
          value={repo}
          error={repoError}
          onChange={(e) => setRepo(e.currentTarget.value)}
          required
          spellCheck={false}
        />
        <Checkbox
          mt="xl"
          label="Private repository"
          description="Only you can see a private repo until you make it public on Hugging Face."
          checked={privateRepo}
          onChange={(e) => setPrivateRepo(e.currentTarget.checked)}
        />
      </Group>
      <Group grow align="flex-start">
        <TextInput label="Title" description="Default: from the file." value={title} onChange={(e) => setTitle(e.currentTarget.value)} />
        <TextInput
          label="Trigger words"
          description="Comma-separated. Default: from the file's metadata."
          value={triggers}
          onChange={(e) => setTriggers(e.currentTarget.value)}
        />
      </Group>
      <Textarea label="Description" description="A paragraph at the top of the card." autosize minRows={2} value={description} onChange={(e) => setDescription(e.currentTarget.value)} />
      <Textarea label="Example prompts" description="One per line." autosize minRows={2} value={prompts} onChange={(e) => setPrompts(e.currentTarget.value)} />
      <Group grow align="flex-start">
        <TextInput
          label="Base model"
          description="Its Hugging Face id. Default: the usual one for the LoRA's family."
          value={baseModel}
          onChange={(e) => setBaseModel(e.currentTarget.value)}
        />
        <TextInput label="License" description="e.g. openrail++ (optional)." value={license} onChange={(e) => setLicense(e.currentTarget.value)} />
      </Group>
      <SampleImages images={images} onChange={setImages} />
      <Stack gap="xs">
        <Group gap="sm">
          <Button variant="default" leftSection={<IconEye size={16} aria-hidden="true" />} onClick={preview} loading={previewing} disabled={!!formMissing}>
            {card === null ? "Preview the model card" : "Make the card again from the fields"}
          </Button>
          <Text size="sm" c="dimmed">
            {card === null
              ? "See (and edit) the README.md before it is sent."
              : "The card below is sent as you see it; making it again replaces your edits."}
          </Text>
        </Group>
        {previewError ? <ErrorNotice title="The card could not be made" error={previewError} /> : null}
        {card !== null && repo.trim() && !repo.includes("/") ? (
          <Text size="sm">
            The card's download and usage links name the repository as typed: write it as user/name (then make the
            card again) so they point to the right place.
          </Text>
        ) : null}
        {card !== null ? (
          <Textarea
            label="Model card (README.md)"
            description="Markdown with a YAML header that Hugging Face reads (base_model, instance_prompt, tags)."
            value={card}
            onChange={(e) => setCard(e.currentTarget.value)}
            autosize
            minRows={10}
            maxRows={30}
            styles={{ input: { fontFamily: "ui-monospace, monospace", fontSize: 13 } }}
          />
        ) : null}
      </Stack>
    </ToolForm>
  );
}

/** Sample images for the card's gallery, each with the prompt that made it. */
function SampleImages({ images, onChange }: { images: { path: string; prompt: string }[]; onChange: (v: { path: string; prompt: string }[]) => void }) {
  const set = (i: number, item: { path: string; prompt: string }) => onChange(images.map((old, j) => (j === i ? item : old)));
  return (
    <Stack gap="xs">
      <Text size="sm" fw={500}>
        Sample images
      </Text>
      {images.map((image, i) => (
        <Group key={i} align="flex-end" gap="xs" wrap="nowrap" role="group" aria-label={`Sample image ${i + 1}`}>
          <div style={{ flex: 1 }}>
            <FilePicker
              label={`Image ${i + 1}`}
              value={image.path}
              onChange={(path) => set(i, { ...image, path })}
              startIn="outputs"
              accept={[".png", ".jpg", ".jpeg", ".webp"]}
            />
          </div>
          <TextInput style={{ flex: 1 }} label={`Prompt ${i + 1}`} value={image.prompt} onChange={(e) => set(i, { ...image, prompt: e.currentTarget.value })} />
          <ActionIcon variant="default" size="lg" aria-label={`Remove image ${i + 1}`} onClick={() => onChange(images.filter((_, j) => j !== i))}>
            <IconTrash size={16} aria-hidden="true" />
          </ActionIcon>
        </Group>
      ))}
      <Group justify="space-between">
        <Text size="xs" c="dimmed">
          Shown in the card's gallery with their prompts (.png, .jpg or .webp; a training run's samples are under outputs/).
        </Text>
        <Button variant="default" size="xs" leftSection={<IconPlus size={14} aria-hidden="true" />} onClick={() => onChange([...images, { path: "", prompt: "" }])} disabled={images.length >= 20}>
          Add an image
        </Button>
      </Group>
    </Stack>
  );
}
