// Access tokens for Civitai and Hugging Face: set, replace or remove; only ever shown masked.
import { Anchor, Button, Card, Group, Loader, PasswordInput, Stack, Text, Title } from "@mantine/core";
import { IconCircleCheck, IconCircleDashed, IconExternalLink } from "@tabler/icons-react";
import { type FormEvent, useState } from "react";
import { asApiError } from "@/api/client";
import { ErrorNotice } from "@/components/ErrorNotice";
import { type Credential, type Service, useCredentials, useTokenActions } from "./api";
import { FILLED, SERVICE_NAMES, TOKEN_PAGES } from "./format";
import classes from "./models.module.css";
import { TOKENS_ID, tokenInputId } from "./focus";


export interface TokenRowProps {
  service: Service;
  credential: Credential | undefined;
  onSave: (token: string) => Promise<unknown>;
  onClear: () => Promise<unknown>;
}

function StatusLine({ service, credential }: { service: Service; credential: Credential | undefined }) {
  if (!credential?.set) {
    return (
      <Group gap={6} wrap="nowrap">
        <IconCircleDashed size={18} aria-hidden="true" />
        <Text size="sm">Not set: public files download without one.</Text>
      </Group>
    );
  }
  const from =
    credential.source === "settings file"
      ? "saved by lorakit"
      : `from the environment variable ${credential.source ?? ""}`.trim();
  return (
    <Group gap={6} wrap="nowrap">
      <IconCircleCheck size={18} color="var(--mantine-color-green-7)" aria-hidden="true" />
      <Text size="sm" data-testid={`token-status-${service}`}>
        Set: <Text span ff="monospace">{credential.masked}</Text> ({from})
      </Text>
    </Group>
  );
}

/** One service: its status (masked), a field for a new token, Save and Remove. */
export function TokenRow({ service, credential, onSave, onClear }: TokenRowProps) {
  const [value, setValue] = useState("");
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [removeError, setRemoveError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const name = SERVICE_NAMES[service];
  const page = TOKEN_PAGES[service];
  const titleId = `token-title-${service}`;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const token = value.trim();
    setNote(null);
    setRemoveError(null);
    if (!token) return setFieldError(`Paste your ${name} token first.`);
    if (token.length < 8) return setFieldError("That is too short to be a token: copy the whole token again.");
    if (/\s/.test(token)) return setFieldError("A token has no spaces: copy it again, without the text around it.");
    setBusy(true);
    setFieldError(null);
    try {
      await onSave(token);
      setValue(""); // the secret leaves the page: from now on only the masked form is shown
      setNote(`Saved. lorakit sends it with ${name} downloads and shows only its last 4 characters.`);
    } catch (e) {
      const error = asApiError(e);
      setFieldError(error.fix ? `${error.message} ${error.fix}` : error.message);
    } finally {
      setBusy(false);
    }
  };

  const clear = async () => {
    setBusy(true);
    setNote(null);
    setRemoveError(null);
    try {
      await onClear();
      setNote(`Removed. ${name} downloads that need a token will ask for one again.`);
    } catch (e) {
      setRemoveError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby={titleId}>
      <Stack gap="xs">
        <Title order={3} size="h5" id={titleId}>
          {name}
        </Title>
        <StatusLine service={service} credential={credential} />
        <form onSubmit={(e) => void submit(e)} noValidate>
          <Stack gap="xs">
            <PasswordInput
              id={tokenInputId(service)}
              label={credential?.set ? `New ${name} token` : `${name} token`}
              description="Needed for private, gated or early-access files. Stored on this computer, readable by you only."
              value={value}
              onChange={(e) => {
                setValue(e.currentTarget.value);
                setFieldError(null);
                setNote(null);
              }}
              autoComplete="off"
              spellCheck={false}
              error={fieldError ?? undefined}
            />
            <Group gap="xs">
              <Button type="submit" size="xs" loading={busy} color={FILLED}>
                Save {name} token
              </Button>
              {credential?.source === "settings file" ? (
                <Button size="xs" variant="default" onClick={() => void clear()} disabled={busy}>
                  Remove saved {name} token
                </Button>
              ) : null}
            </Group>
          </Stack>
        </form>
        {removeError ? <ErrorNotice error={removeError} title={`The ${name} token was not removed`} /> : null}
        {note ? (
          <Text size="sm" role="status">
            {note}
          </Text>
        ) : null}
        <Text size="sm">
          Get one at{" "}
          <Anchor href={page.url} target="_blank" rel="noreferrer noopener" className={classes.link}>
            {page.where}
            <IconExternalLink size={14} aria-label="(opens in a new tab)" style={{ marginLeft: 2, verticalAlign: "-2px" }} />
          </Anchor>{" "}
          ({page.hint}).
        </Text>
      </Stack>
    </section>
  );
}

export interface TokenPanelViewProps {
  credentials: Credential[] | undefined;
  onSave: (service: Service, token: string) => Promise<unknown>;
  onClear: (service: Service) => Promise<unknown>;
}

export function TokenPanelView({ credentials, onSave, onClear }: TokenPanelViewProps) {
  const find = (service: Service) => credentials?.find((c) => c.service === service);
  return (
    <Stack gap="lg">
      {(["civitai", "huggingface"] as const).map((service) => (
        <TokenRow
          key={service}
          service={service}
          credential={find(service)}
          onSave={(token) => onSave(service, token)}
          onClear={() => onClear(service)}
        />
      ))}
    </Stack>
  );
}

/** The settings panel for service tokens, wired to the server. */
export function TokenPanel() {
  const credentials = useCredentials();
  const { save, clear } = useTokenActions();
  return (
    <Card withBorder padding="md" id={TOKENS_ID} component="section" aria-labelledby="tokens-title">
      <Stack gap="sm">
        <Title order={2} size="h4" id="tokens-title">
          Access tokens
        </Title>
        <Text size="sm" c="dimmed">
          Some models download only for signed-in users. Paste a token from your account and lorakit sends it with those
          downloads. It is never shown again in full.
        </Text>
        {credentials.isPending ? <Loader size="sm" aria-label="Loading tokens" /> : null}
        {credentials.isError ? <ErrorNotice error={credentials.error} onRetry={() => void credentials.refetch()} /> : null}
        <TokenPanelView
          credentials={credentials.data}
          onSave={(service, token) => save.mutateAsync({ service, token })}
          onClear={(service) => clear.mutateAsync(service)}
        />
      </Stack>
    </Card>
  );
}
