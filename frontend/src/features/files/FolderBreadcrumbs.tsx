import { Anchor, Breadcrumbs, Text } from "@mantine/core";
import { Link } from "react-router-dom";
import { folderHref } from "./format";

/** Where we are: Workspace / datasets / cats, each part a link back up (the last one is the current folder). */
export function FolderBreadcrumbs({ path }: { path: string }) {
  const parts = path ? path.split("/") : [];
  const crumbs = [{ name: "Workspace", path: "" }, ...parts.map((name, i) => ({ name, path: parts.slice(0, i + 1).join("/") }))];
  return (
    <nav aria-label="Folder path">
      <Breadcrumbs separator="/" separatorMargin={6}>
        {crumbs.map((crumb, index) =>
          index === crumbs.length - 1 ? (
            <Text key={crumb.path} fw={600} size="sm" aria-current="page">
              {crumb.name}
            </Text>
          ) : (
            <Anchor key={crumb.path} component={Link} to={folderHref(crumb.path)} size="sm">
              {crumb.name}
            </Anchor>
          ),
        )}
      </Breadcrumbs>
    </nav>
  );
}
