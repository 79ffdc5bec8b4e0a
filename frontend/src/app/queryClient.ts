import { QueryClient } from "@tanstack/react-query";
import { ApiError } from "@/api/errors";

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // A refusal (4xx) will not change by asking again; a lost connection may.
        retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 3,
        refetchOnWindowFocus: false,
        staleTime: 5_000,
      },
    },
  });
}
