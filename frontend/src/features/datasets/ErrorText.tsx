/** An error as the API gives it: what happened, then what to do. Never raw JSON or a stack. */
import { Alert, Text } from "@mantine/core";

import { DatasetApiError } from "./api";

export function ErrorText({ error, title }: { error: unknown; title?: string }) {
  const message =
    error instanceof DatasetApiError || error instanceof Error ? error.message : "Something went wrong.";
  const fix = error instanceof DatasetApiError ? error.fix : null;
  return (
    <Alert color="red" variant="light" role="alert" title={title ?? "That did not work"} p="xs">
      <Text size="sm">{message}</Text>
      {fix ? (
        <Text size="sm" mt={4}>
          <strong>What to do:</strong> {fix}
        </Text>
      ) : null}
    </Alert>
  );
}
