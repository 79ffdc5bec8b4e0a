import { useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useEffect, useState } from "react";
import { onUnauthorized } from "@/api/client";
import { TokenPage } from "./TokenPage";

/** Shows the token page instead of the app as soon as any request answers 401. */
export function TokenGate({ children }: { children: ReactNode }) {
  const [needsToken, setNeedsToken] = useState(false);
  const client = useQueryClient();
  useEffect(
    () =>
      onUnauthorized(() => {
        setNeedsToken(true);
        client.cancelQueries();
      }),
    [client],
  );
  return needsToken ? <TokenPage /> : <>{children}</>;
}
