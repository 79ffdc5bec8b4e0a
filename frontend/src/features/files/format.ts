// Plain-words formatting for sizes, dates and counts on the Files page.

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatTime(seconds: number): string {
  return new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** The folder a workspace path lies in ("" for the root). */
export function parentOf(path: string): string {
  const at = path.lastIndexOf("/");
  return at < 0 ? "" : path.slice(0, at);
}

/** The address of a folder on the Files page: /files/datasets/cats (each part encoded). */
export function folderHref(path: string): string {
  return path ? `/files/${path.split("/").map(encodeURIComponent).join("/")}` : "/files";
}

/** A dataset name from a ZIP's file name: its stem, with anything unusual replaced. */
export function datasetNameFor(fileName: string): string {
  const stem = fileName.replace(/\.zip$/i, "");
  return stem.replace(/[^A-Za-z0-9._ -]+/g, "_").replace(/^[.\s]+/, "").trim() || "imported";
}

/** A trashed item's key: the same id may (in theory) appear in two trashes. */
export function trashKey(item: { id: string; trash?: string }): string {
  return `${item.trash ?? ""}:${item.id}`;
}
