// The step plan beside the form: exact steps and epochs, buckets with image counts, a time estimate, advice.
import { Card, Group, List, Loader, Stack, Table, Text, Title } from "@mantine/core";
import { IconAlertTriangle, IconBulb } from "@tabler/icons-react";
import { ErrorNotice } from "@/components/ErrorNotice";
import type { Plan } from "./api";

export function duration(seconds: number): string {
  if (seconds < 90) return `about ${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `about ${Math.round(seconds / 60)} min`;
  return `about ${(seconds / 3600).toFixed(1)} h`;
}

export interface PlanPanelProps {
  plan: Plan | undefined;
  error: unknown;
  loading: boolean;
  hasImages: boolean;
}

export function PlanPanel({ plan, error, loading, hasImages }: PlanPanelProps) {
  return (
    <Card withBorder padding="md" component="section" aria-labelledby="plan-title">
      <Stack gap="sm">
        <Group justify="space-between">
          <Title order={2} size="h4" id="plan-title">
            Step plan
          </Title>
          {loading ? <Loader size="xs" aria-label="Updating the plan" /> : null}
        </Group>
        {!hasImages ? (
          <Text size="sm" c="dimmed">
            Add a dataset folder to see how many steps the run takes.
          </Text>
        ) : error ? (
          <ErrorNotice error={error} title="No plan for these settings" />
        ) : plan ? (
          <Stack gap="sm" aria-live="polite">
            <Text size="lg" fw={700} data-testid="plan-steps">
              {plan.total_steps.toLocaleString()} steps
            </Text>
            <Text size="sm">
              {plan.epochs} {plan.epochs === 1 ? "epoch" : "epochs"} × {plan.steps_per_epoch} steps; {plan.train_images} images
              ({plan.train_images_with_repeats} with repeats), batch {plan.batch_size}
              {plan.gradient_accumulation_steps > 1 ? ` × ${plan.gradient_accumulation_steps} accumulated` : ""}.
            </Text>
            <Text size="sm">
              <Text span fw={600}>
                Time:
              </Text>{" "}
              {plan.time_estimate.seconds !== null ? `${duration(plan.time_estimate.seconds)} (from ${plan.time_estimate.based_on})` : plan.time_estimate.based_on}
            </Text>
            <Text size="sm" c="dimmed">
              Buckets: {plan.bucket_description}
            </Text>
            <Table fz="sm" withTableBorder aria-label="Buckets">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Size</Table.Th>
                  <Table.Th>Images</Table.Th>
                  <Table.Th>With repeats</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {plan.buckets.map((b) => (
                  <Table.Tr key={`${b.width}x${b.height}`}>
                    <Table.Td>
                      {b.width}×{b.height}
                    </Table.Td>
                    <Table.Td>{b.images}</Table.Td>
                    <Table.Td>{b.images_with_repeats}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            {plan.notes.length ? (
              <List size="sm" spacing="xs" aria-label="Advice on the plan">
                {plan.notes.map((note, i) => (
                  <List.Item
                    key={i}
                    icon={note.level === "warning" ? <IconAlertTriangle size={16} aria-hidden="true" /> : <IconBulb size={16} aria-hidden="true" />}
                  >
                    <Text span fw={600} size="sm">
                      {note.level === "warning" ? "Warning: " : "Advice: "}
                    </Text>
                    {note.message}
                    {note.fix ? (
                      <>
                        {" "}
                        <Text span fw={600} size="sm">
                          What to do:
                        </Text>{" "}
                        {note.fix}
                      </>
                    ) : null}
                  </List.Item>
                ))}
              </List>
            ) : null}
          </Stack>
        ) : (
          <Loader size="sm" aria-label="Planning" />
        )}
      </Stack>
    </Card>
  );
}
