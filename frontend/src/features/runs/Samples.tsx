// Sample images as they are made, grouped by step (newest first), with their prompts; full size on click.
import { Card, Group, Image, Modal, SimpleGrid, Stack, Text, Title, UnstyledButton } from "@mantine/core";
import { useState } from "react";
import { sampleUrl } from "./api";
import { type Sample, samplesByStep } from "./runData";

export interface JobSample extends Sample {
  jobId: string;
}

export function Samples({ samples }: { samples: JobSample[] }) {
  const [open, setOpen] = useState<JobSample | null>(null);
  const groups = samplesByStep(samples) as { step: number; samples: JobSample[] }[];
  return (
    <Card withBorder component="section" aria-labelledby="samples-title">
      <Title order={2} size="h4" id="samples-title" mb="xs">
        Samples
      </Title>
      {groups.length === 0 ? (
        <Text size="sm" c="dimmed">
          No samples yet. They appear here as the run makes them (set how often under Samples in the training
          settings), or press Sample now.
        </Text>
      ) : null}
      <Stack gap="md">
        {groups.map((group) => (
          <section key={group.step} aria-label={`Samples at step ${group.step}`}>
            <Text fw={600} size="sm" mb={4}>
              Step {group.step.toLocaleString()}
            </Text>
            <SimpleGrid cols={{ base: 2, sm: 3, md: 4, lg: 6 }} spacing="xs">
              {group.samples.map((sample) => (
                <UnstyledButton
                  key={`${sample.jobId}-${sample.seq}`}
                  onClick={() => setOpen(sample)}
                  aria-label={`Open the sample of step ${sample.step} full size: ${sample.prompt}`}
                  className="lk-sample"
                >
                  <Image src={sampleUrl(sample.jobId, sample.name)} alt={sample.prompt} radius="sm" fit="contain" h={128} />
                  <Text size="xs" lineClamp={2} mt={2}>
                    {sample.prompt}
                  </Text>
                </UnstyledButton>
              ))}
            </SimpleGrid>
          </section>
        ))}
      </Stack>
      <Modal opened={open !== null} onClose={() => setOpen(null)} title={open ? `Sample at step ${open.step}` : ""} size="auto" centered>
        {open ? (
          <Stack gap="xs">
            <img src={sampleUrl(open.jobId, open.name)} alt={open.prompt} style={{ maxWidth: "90vw", maxHeight: "75vh", imageRendering: "auto" }} />
            <Group gap={4}>
              <Text size="sm" fw={600}>
                Prompt:
              </Text>
              <Text size="sm">{open.prompt}</Text>
            </Group>
            <Text size="xs" c="dimmed">
              {open.path}
            </Text>
          </Stack>
        ) : null}
      </Modal>
    </Card>
  );
}
