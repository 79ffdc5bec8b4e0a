import { useState } from "react";
import { createBrowserRouter, RouterProvider } from "react-router-dom";
import { JobsSocketProvider } from "@/api/jobsSocketContext";
import { Providers } from "./providers";
import { makeQueryClient } from "./queryClient";
import { TokenGate } from "./TokenGate";
import { routes } from "./routes";

const router = createBrowserRouter(routes, {
  future: { v7_relativeSplatPath: true, v7_fetcherPersist: true, v7_normalizeFormMethod: true, v7_partialHydration: true, v7_skipActionErrorRevalidation: true },
});

export function App() {
  const [client] = useState(makeQueryClient);
  return (
    <Providers client={client}>
      <TokenGate>
        <JobsSocketProvider>
          <RouterProvider router={router} future={{ v7_startTransition: true }} />
        </JobsSocketProvider>
      </TokenGate>
    </Providers>
  );
}
