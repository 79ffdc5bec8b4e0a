// The raw TOML of the form's settings; edits go back into the form (checked by the server) on "Apply".
import { Button, Group, Stack, Text, Textarea } from "@mantine/core";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { ErrorNotice } from "@/components/ErrorNotice";
import type { ConfigValue } from "@/components/schemaForm";
import { configFromToml, configToToml } from "./api";

export function TomlPanel({ config, onApply }: { config: ConfigValue; onApply: (config: ConfigValue) => void }) {
  const toml = useQuery({
    queryKey: ["configs", "toml", config],
    queryFn: () => configToToml(config),
    placeholderData: keepPreviousData,
  });
  const [edited, setEdited] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const text = edited ?? toml.data ?? "";

  return (
    <Stack gap="sm">
      <Text size="sm" c="dimmed">
        The settings as the TOML file lorakit saves. Edit it here and apply: the form takes the new values. Secrets (tokens)
        are never shown in files.
      </Text>
      {toml.error && edited === null ? <ErrorNotice error={toml.error} title="The TOML cannot be shown yet" /> : null}
      <Textarea
        label="Config as TOML"
        autosize
        minRows={12}
        maxRows={40}
        spellCheck={false}
        styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)", fontSize: 13 } }}
        value={text}
        onChange={(event) => setEdited(event.currentTarget.value)}
      />
      {error ? <ErrorNotice error={error} title="The TOML was not applied" /> : null}
      <Group>
        <Button
          disabled={edited === null}
          loading={busy}
          onClick={async () => {
            setError(null);
            setBusy(true);
            try {
              onApply(await configFromToml(text));
              setEdited(null);
            } catch (caught) {
              setError(caught);
            } finally {
              setBusy(false);
            }
          }}
        >
          Apply to the form
        </Button>
        <Button variant="default" disabled={edited === null} onClick={() => (setEdited(null), setError(null))}>
          Discard my edits
        </Button>
      </Group>
    </Stack>
  );
}
