import { Container } from "@mantine/core";
import { isRouteErrorResponse, useRouteError } from "react-router-dom";
import { ApiError } from "@/api/errors";
import { ErrorNotice } from "@/components/ErrorNotice";

/** A page that failed to load or render: plain words, a way out, never a stack. */
export function RouteError() {
  const error = useRouteError();
  const shown = isRouteErrorResponse(error)
    ? new ApiError(error.status, {
        code: "not_found",
        message: error.status === 404 ? "There is no page at this address." : `The page failed (${error.status}).`,
        fix: "Pick a page in the navigation.",
      })
    : new ApiError(0, {
        code: "page",
        message: "This page could not be shown.",
        fix: "Reload the page (the server may have been updated); if it keeps happening, report it.",
      });
  return (
    <Container size="sm" py="xl">
      <ErrorNotice error={shown} title="This page could not be shown" onRetry={() => window.location.reload()} />
    </Container>
  );
}

/** An address that is no page of the app. */
export function NotFound() {
  const error = new ApiError(404, {
    code: "not_found",
    message: "There is no page at this address.",
    fix: "Pick a page in the navigation.",
  });
  return <ErrorNotice error={error} title="Page not found" />;
}
