import { Group, Stack, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";

export interface PageHeaderProps {
  title: string;
  /** What this page is for, in one sentence. */
  purpose: string;
  /** The page's primary action: always at the same place (top right) on every page. */
  action?: ReactNode;
}

/** The header every page shares: a title, its purpose in one sentence, and the primary action. */
export function PageHeader({ title, purpose, action }: PageHeaderProps) {
  return (
    <Group justify="space-between" align="flex-start" mb="lg" wrap="nowrap">
      <Stack gap={4}>
        <Title order={1} size="h2">
          {title}
        </Title>
        <Text c="dimmed">{purpose}</Text>
      </Stack>
      {action ? <div>{action}</div> : null}
    </Group>
  );
}
