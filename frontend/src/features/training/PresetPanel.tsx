// Presets: pick one and see what it changes before using it; save the current settings as a new one.
import { Alert, Button, Card, Group, List, NativeSelect, Stack, Text, TextInput, Title } from "@mantine/core";
import { IconCheck } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { ErrorNotice } from "@/components/ErrorNotice";
import { formatValue, type ConfigValue } from "@/components/schemaForm";
import { configFromPreset, usePresets, useSavePreset } from "./api";
import { diffConfigs, keepFolders } from "./diff";

const SHOWN = 40;

export interface PresetPanelProps {
  config: ConfigValue;
  labels: Map<string, string>;
  onApply: (config: ConfigValue, preset: string) => void;
}

export function PresetPanel({ config, labels, onApply }: PresetPanelProps) {
  const presets = usePresets();
  const [picked, setPicked] = useState("");
  const candidate = useQuery({
    queryKey: ["configs", "preset", picked],
    queryFn: () => configFromPreset(picked),
    enabled: picked !== "",
  });
  const merged = candidate.data ? keepFolders(candidate.data, config) : null;
  const changes = merged ? diffConfigs(config, merged) : [];
  const info = presets.data?.find((p) => p.name === picked);

  const save = useSavePreset();
  const [name, setName] = useState("");
  const [saved, setSaved] = useState<string | null>(null);

  return (
    <Card withBorder padding="md" component="section" aria-labelledby="presets-title">
      <Stack gap="sm">
        <Title order={2} size="h4" id="presets-title">
          Presets
        </Title>
        {presets.error ? <ErrorNotice error={presets.error} /> : null}
        <NativeSelect
          label="Start from a preset"
          description="Settings for a common goal. You see what it changes before anything is replaced; your image folders are kept."
          data={[
            { value: "", label: "Choose a preset…" },
            ...(presets.data ?? []).map((p) => ({ value: p.name, label: p.builtin ? p.title : `${p.title} (yours)` })),
          ]}
          value={picked}
          onChange={(event) => setPicked(event.currentTarget.value)}
        />
        {info ? (
          <Text size="sm">
            {info.for_whom} {info.what}
          </Text>
        ) : null}
        {candidate.error ? <ErrorNotice error={candidate.error} /> : null}
        {merged ? (
          <Stack gap="xs" aria-live="polite">
            <Text size="sm" fw={600}>
              {changes.length === 0 ? "This preset changes nothing: your settings already match it." : `It changes ${changes.length} ${changes.length === 1 ? "setting" : "settings"}:`}
            </Text>
            {changes.length > 0 ? (
              <List size="sm" spacing={2} aria-label="What the preset changes">
                {changes.slice(0, SHOWN).map((change) => (
                  <List.Item key={change.path}>
                    {labels.get(change.path) ?? change.path}{" "}
                    <Text span size="xs" c="dimmed" ff="monospace">
                      {change.path}
                    </Text>
                    : {formatValue(change.from)} → {formatValue(change.to)}
                  </List.Item>
                ))}
                {changes.length > SHOWN ? <List.Item>…and {changes.length - SHOWN} more.</List.Item> : null}
              </List>
            ) : null}
            <Group>
              <Button
                onClick={() => {
                  onApply(merged, picked);
                  setPicked("");
                }}
              >
                Use this preset
              </Button>
              <Button variant="default" onClick={() => setPicked("")}>
                Keep my settings
              </Button>
            </Group>
          </Stack>
        ) : null}
        <form
          onSubmit={(event) => {
            event.preventDefault();
            setSaved(null);
            save.mutate({ name, title: name, config }, { onSuccess: (preset) => setSaved(preset.name) });
          }}
        >
          <Stack gap="xs">
            <TextInput
              label="Save as a new preset"
              description="Lower-case letters, digits, - and _. Image folders are not saved in a preset."
              placeholder="my-style"
              value={name}
              onChange={(event) => setName(event.currentTarget.value)}
            />
            <Button type="submit" variant="default" w="fit-content" loading={save.isPending} disabled={!name.trim()}>
              Save preset
            </Button>
          </Stack>
        </form>
        {save.error ? <ErrorNotice error={save.error} title="The preset was not saved" /> : null}
        {saved ? (
          <Alert color="blue" variant="light" icon={<IconCheck aria-hidden="true" />} role="status">
            Saved as the preset “{saved}”: it is in the list above.
          </Alert>
        ) : null}
      </Stack>
    </Card>
  );
}
