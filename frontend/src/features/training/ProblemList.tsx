// Everything that must change before a run, each with its fix and a way to jump to its setting.
import { Alert, Button, List, Stack, Text } from "@mantine/core";
import { IconAlertTriangle, IconCircleCheck } from "@tabler/icons-react";
import type { Problem } from "./api";
import type { Arranged } from "./problems";

export interface ProblemListProps {
  arranged: Arranged;
  checked: boolean;
  labels: Map<string, string>;
  onShow: (path: string) => void;
}

const fixText = (problem: Problem) =>
  problem.fix ? (
    <>
      {" "}
      <Text span fw={600} size="sm">
        What to do:
      </Text>{" "}
      {problem.fix}
    </>
  ) : null;

export function ProblemList({ arranged, checked, labels, onShow }: ProblemListProps) {
  const { problems, otherWarnings } = arranged;
  if (!checked) return null;
  return (
    <Stack gap="sm">
      {problems.length === 0 ? (
        <Alert color="blue" variant="light" icon={<IconCircleCheck aria-hidden="true" />} title="Ready to start">
          The server checked these settings and found nothing that stops a run.
        </Alert>
      ) : (
        <Alert color="red" variant="light" icon={<IconAlertTriangle aria-hidden="true" />} title={`Fix before starting (${problems.length})`}>
          <List size="sm" spacing="xs" aria-label="Problems to fix before starting">
            {problems.map((problem, i) => (
              <List.Item key={i}>
                {problem.message}
                {fixText(problem)}{" "}
                {problem.at ? (
                  <Button size="compact-xs" variant="subtle" onClick={() => onShow(problem.at as string)}>
                    Go to {labels.get(problem.at.replace(/\[\d+\].*$/, "")) ?? problem.at}
                  </Button>
                ) : null}
              </List.Item>
            ))}
          </List>
        </Alert>
      )}
      {otherWarnings.length ? (
        <Alert color="yellow" variant="light" title="Worth a look (you can still start)">
          <List size="sm" spacing="xs">
            {otherWarnings.map((warning, i) => (
              <List.Item key={i}>
                {warning.message}
                {fixText(warning)}
              </List.Item>
            ))}
          </List>
        </Alert>
      ) : null}
    </Stack>
  );
}
