// Paste a link, see what lorakit understands it to be, start the download.
import { Button, Group, Stack, Text, TextInput } from "@mantine/core";
import { IconCircleCheck, IconDownload } from "@tabler/icons-react";
import { type FormEvent, useState } from "react";
import { asApiError } from "@/api/client";
import { ErrorNotice } from "@/components/ErrorNotice";
import { LINK_INPUT_ID } from "./focus";
import { FILLED } from "./format";
import { checkLink } from "./links";

export interface LinkFormProps {
  /** Start the download; a rejection with the server's error is shown (at the field when it is about the link). */
  onDownload: (link: string) => Promise<unknown>;
}

export function LinkForm({ onDownload }: LinkFormProps) {
  const [value, setValue] = useState("");
  const [touched, setTouched] = useState(false);
  const [serverError, setServerError] = useState<unknown>(null);
  const [started, setStarted] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const check = checkLink(value);
  const apiError = serverError ? asApiError(serverError) : null;
  const linkError = apiError?.field === "link" ? apiError : null;

  let fieldError: string | undefined;
  if (linkError) fieldError = `${linkError.message} ${linkError.fix ?? ""}`.trim();
  else if (touched && !check.ok && !check.empty) fieldError = `${check.problem} ${check.fix}`;
  else if (touched && !check.ok && check.empty && started === null) fieldError = check.problem;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    setServerError(null);
    setStarted(null);
    if (!check.ok) return;
    setBusy(true);
    try {
      await onDownload(value.trim());
      setStarted(check.summary);
      setValue("");
      setTouched(false);
    } catch (e) {
      setServerError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate aria-label="Download a model from a link">
      <Stack gap="xs">
        <TextInput
            id={LINK_INPUT_ID}
            label="Link to a model"
            description="A Civitai model page or download link, a Hugging Face repository or file, or a direct https:// link to a .safetensors file."
            placeholder="https://civitai.com/models/… or https://huggingface.co/…"
            value={value}
            onChange={(e) => {
              setValue(e.currentTarget.value);
              setServerError(null);
              setStarted(null);
            }}
            onBlur={() => setTouched(value.trim() !== "")}
            error={fieldError}
            autoComplete="off"
            spellCheck={false}
            inputMode="url"
          />
        <Group gap="sm">
          <Button type="submit" color={FILLED} loading={busy} leftSection={<IconDownload size={16} aria-hidden="true" />}>
            Download
          </Button>
        </Group>
        <div aria-live="polite">
          {check.ok && !fieldError ? (
            <Group gap={6} wrap="nowrap">
              <IconCircleCheck size={16} color="var(--mantine-color-green-7)" aria-hidden="true" />
              <Text size="sm">Recognised: {check.summary}.</Text>
            </Group>
          ) : null}
          {started ? (
            <Text size="sm" role="status">
              Started: {started}. Its progress is shown under Downloads.
            </Text>
          ) : null}
        </div>
        {apiError && !linkError ? <ErrorNotice error={apiError} title="The download did not start" /> : null}
      </Stack>
    </form>
  );
}
