import { Navigate, type RouteObject } from "react-router-dom";
import { Layout } from "./Layout";
import { NotFound, RouteError } from "./RouteError";

type PageModule = { default: React.ComponentType };
const page = (load: () => Promise<PageModule>) => async () => ({ Component: (await load()).default });

/** One lazy entry per page: each page's code loads when it is first opened. */
export const routes: RouteObject[] = [
  {
    path: "/",
    element: <Layout />,
    errorElement: <RouteError />,
    children: [
      { index: true, element: <Navigate to="/files" replace /> },
      {
        errorElement: <RouteError />,
        children: [
          { path: "files/*", lazy: page(() => import("@/features/files/Page")) },
          { path: "datasets/*", lazy: page(() => import("@/features/datasets/Page")) },
          { path: "training/*", lazy: page(() => import("@/features/training/Page")) },
          { path: "jobs/*", lazy: page(() => import("@/features/jobs/Page")) },
          { path: "runs/:jobId", lazy: page(() => import("@/features/runs/Page")) },
          { path: "models/*", lazy: page(() => import("@/features/models/Page")) },
          { path: "utilities/*", lazy: page(() => import("@/features/utilities/Page")) },
          { path: "*", element: <NotFound /> },
        ],
      },
    ],
  },
];
