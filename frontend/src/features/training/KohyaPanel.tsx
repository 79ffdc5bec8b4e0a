// sd-scripts (kohya) files: import from an upload or pasted text; export both files as downloads.
import { Alert, Button, Group, List, Stack, Text, Textarea, Title } from "@mantine/core";
import { IconDownload, IconUpload } from "@tabler/icons-react";
import { useRef, useState } from "react";
import { ErrorNotice } from "@/components/ErrorNotice";
import type { ConfigValue } from "@/components/schemaForm";
import { kohyaFiles, kohyaImport, type KohyaFiles } from "./api";

/** Save text as a file in the browser's downloads. */
export function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/toml" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** dataset.toml has [[datasets]] or [general]; anything else is taken for config.toml. */
export const isDatasetToml = (name: string, text: string) => /dataset/i.test(name) || /^\s*\[\[datasets\]\]|^\s*\[general\]/m.test(text);

export function KohyaPanel({ config, onImport }: { config: ConfigValue; onImport: (config: ConfigValue) => void }) {
  const [configToml, setConfigToml] = useState("");
  const [datasetToml, setDatasetToml] = useState("");
  const [notes, setNotes] = useState<string[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [exported, setExported] = useState<KohyaFiles | null>(null);
  const [exportError, setExportError] = useState<unknown>(null);
  const upload = useRef<HTMLInputElement>(null);

  return (
    <Stack gap="lg">
      <Stack gap="sm">
        <Title order={3} size="h5">
          Import sd-scripts files
        </Title>
        <Text size="sm" c="dimmed">
          Upload config.toml (and dataset.toml if it has one), or paste them. The form takes their settings; nothing is saved
          until you save.
        </Text>
        <Group>
          <input
            ref={upload}
            type="file"
            accept=".toml,text/plain"
            multiple
            hidden
            aria-label="sd-scripts TOML files"
            onChange={async (event) => {
              for (const file of Array.from(event.currentTarget.files ?? [])) {
                const text = await file.text();
                if (isDatasetToml(file.name, text)) setDatasetToml(text);
                else setConfigToml(text);
              }
              event.currentTarget.value = "";
            }}
          />
          <Button variant="default" leftSection={<IconUpload size={16} aria-hidden="true" />} onClick={() => upload.current?.click()}>
            Upload TOML files
          </Button>
        </Group>
        <Textarea label="config.toml" autosize minRows={4} maxRows={16} spellCheck={false} value={configToml} onChange={(e) => setConfigToml(e.currentTarget.value)} />
        <Textarea label="dataset.toml (optional)" autosize minRows={3} maxRows={16} spellCheck={false} value={datasetToml} onChange={(e) => setDatasetToml(e.currentTarget.value)} />
        {error ? <ErrorNotice error={error} title="The files were not imported" /> : null}
        <Group>
          <Button
            disabled={!configToml.trim()}
            onClick={async () => {
              setError(null);
              setNotes(null);
              try {
                const result = await kohyaImport(configToml, datasetToml.trim() ? datasetToml : null);
                onImport(result.config);
                setNotes(result.notes);
              } catch (caught) {
                setError(caught);
              }
            }}
          >
            Import into the form
          </Button>
        </Group>
        {notes ? (
          <Alert color="blue" variant="light" role="status" title="Imported into the form">
            {notes.length ? (
              <List size="sm">
                {notes.map((note, i) => (
                  <List.Item key={i}>{note}</List.Item>
                ))}
              </List>
            ) : (
              "Every setting was carried over."
            )}
          </Alert>
        ) : null}
      </Stack>
      <Stack gap="sm">
        <Title order={3} size="h5">
          Export for sd-scripts
        </Title>
        <Button
          variant="default"
          w="fit-content"
          onClick={async () => {
            setExportError(null);
            try {
              setExported(await kohyaFiles(config));
            } catch (caught) {
              setExportError(caught);
            }
          }}
        >
          Make the sd-scripts files
        </Button>
        {exportError ? <ErrorNotice error={exportError} title="The files were not made" /> : null}
        {exported ? (
          <Stack gap="xs">
            <Text size="sm">
              For {exported.script}. Run it with <code>accelerate launch {exported.script} --config_file config.toml</code>, with
              dataset.toml next to it.
            </Text>
            <Group gap="xs">
              <Button
                leftSection={<IconDownload size={16} aria-hidden="true" />}
                onClick={() => {
                  for (const name of ["config.toml", "dataset.toml"]) {
                    const text = exported.files[name];
                    if (text !== undefined) download(name, text);
                  }
                }}
              >
                Download both files
              </Button>
              {Object.entries(exported.files).map(([name, text]) => (
                <Button key={name} variant="default" size="compact-sm" onClick={() => download(name, text)}>
                  {name}
                </Button>
              ))}
            </Group>
            {exported.notes.length ? (
              <List size="sm" aria-label="What sd-scripts cannot take as it is">
                {exported.notes.map((note, i) => (
                  <List.Item key={i}>{note}</List.Item>
                ))}
              </List>
            ) : null}
          </Stack>
        ) : null}
      </Stack>
    </Stack>
  );
}
