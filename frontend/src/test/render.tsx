import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, type RenderOptions } from "@testing-library/react";
import type { ReactElement } from "react";
import { createMemoryRouter, RouterProvider } from "react-router-dom";

/**
 * Render inside what a page has in the app: the theme, a fresh query client without retries and a data router
 * at `route` (so useNavigate, useParams, useNavigation... work). `path` is the route pattern, e.g. "/datasets/:name".
 */
export function renderWithProviders(
  ui: ReactElement,
  { route = "/", path = "*", ...options }: RenderOptions & { route?: string; path?: string } = {},
) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  const router = createMemoryRouter([{ path, element: ui }], {
    initialEntries: [route],
    future: { v7_relativeSplatPath: true },
  });
  const result = render(
    <MantineProvider>
      <QueryClientProvider client={client}>
        <RouterProvider router={router} future={{ v7_startTransition: true }} />
      </QueryClientProvider>
    </MantineProvider>,
    options,
  );
  return { client, router, ...result };
}
