// Saved configs in the workspace's configs/ folder: open one into the form, or save the form under a name.
import { Alert, Button, Card, Group, NativeSelect, Stack, TextInput, Title } from "@mantine/core";
import { IconCheck } from "@tabler/icons-react";
import { useState } from "react";
import { ErrorNotice } from "@/components/ErrorNotice";
import type { ConfigValue } from "@/components/schemaForm";
import { openConfig, useSaveConfig, useSavedConfigs } from "./api";

export interface SavedConfigsProps {
  config: ConfigValue;
  name: string;
  onName: (name: string) => void;
  onOpen: (config: ConfigValue, name: string) => void;
}

export function SavedConfigs({ config, name, onName, onOpen }: SavedConfigsProps) {
  const saved = useSavedConfigs();
  const save = useSaveConfig();
  const [picked, setPicked] = useState("");
  const [opening, setOpening] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);

  return (
    <Card withBorder padding="md" component="section" aria-labelledby="saved-title">
      <Stack gap="sm">
        <Title order={2} size="h4" id="saved-title">
          Saved configs
        </Title>
        {saved.error ? <ErrorNotice error={saved.error} /> : null}
        <Group align="flex-end" gap="xs">
          <NativeSelect
            style={{ flex: 1 }}
            label="Open a saved config"
            data={[{ value: "", label: saved.data?.length ? "Choose…" : "None saved yet" }, ...(saved.data ?? []).map((c) => ({ value: c.name, label: c.name }))]}
            value={picked}
            onChange={(event) => setPicked(event.currentTarget.value)}
          />
          <Button
            variant="default"
            disabled={!picked}
            onClick={async () => {
              setOpening(null);
              try {
                onOpen(await openConfig(picked), picked);
              } catch (error) {
                setOpening(error);
              }
            }}
          >
            Open
          </Button>
        </Group>
        {opening ? <ErrorNotice error={opening} title="The config was not opened" /> : null}
        <form
          onSubmit={(event) => {
            event.preventDefault();
            setDone(null);
            save.mutate({ name, config }, { onSuccess: () => setDone(name) });
          }}
        >
          <Stack gap="xs">
            <TextInput
              label="Save as"
              description="Saved to configs/<name>.toml in the workspace (checked first)."
              value={name}
              onChange={(event) => onName(event.currentTarget.value)}
            />
            <Button type="submit" variant="default" w="fit-content" loading={save.isPending} disabled={!name.trim()}>
              Save config
            </Button>
          </Stack>
        </form>
        {save.error ? <ErrorNotice error={save.error} title="The config was not saved" /> : null}
        {done ? (
          <Alert color="blue" variant="light" icon={<IconCheck aria-hidden="true" />} role="status">
            Saved as configs/{done}.toml.
          </Alert>
        ) : null}
      </Stack>
    </Card>
  );
}
