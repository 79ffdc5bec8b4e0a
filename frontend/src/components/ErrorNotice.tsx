import { Alert, Button, Group, Text } from "@mantine/core";
import { IconAlertTriangle } from "@tabler/icons-react";
import { asApiError } from "@/api/errors";

export interface ErrorNoticeProps {
  /** Anything thrown: an ApiError shows the server's words; other errors get plain words. */
  error: unknown;
  title?: string;
  onRetry?: () => void;
}

/** An error as what happened + what to do. Never raw JSON, never a stack. */
export function ErrorNotice({ error, title, onRetry }: ErrorNoticeProps) {
  const apiError = asApiError(error);
  return (
    <Alert
      role="alert"
      color="red"
      variant="light"
      icon={<IconAlertTriangle aria-hidden="true" />}
      title={title ?? "Something went wrong"}
    >
      <Text size="sm">{apiError.message}</Text>
      {apiError.fix ? (
        <Text size="sm" mt={4}>
          <Text span fw={600}>
            What to do:{" "}
          </Text>
          {apiError.fix}
        </Text>
      ) : null}
      {apiError.issues && apiError.issues.length > 1 ? (
        <ul>
          {apiError.issues.map((issue, index) => (
            <li key={index}>
              <Text size="sm">
                {issue.field ? `${issue.field}: ` : ""}
                {issue.message}
                {issue.fix ? ` ${issue.fix}` : ""}
              </Text>
            </li>
          ))}
        </ul>
      ) : null}
      {onRetry ? (
        <Group mt="sm">
          <Button size="xs" variant="default" onClick={onRetry}>
            Try again
          </Button>
        </Group>
      ) : null}
    </Alert>
  );
}
