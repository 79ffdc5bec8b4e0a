// Workspace paths as the page shows and links them.

/** The folder of a workspace path ("" for the top). */
export function parentOf(path: string): string {
  const clean = path.replace(/\/+$/, "");
  const cut = clean.lastIndexOf("/");
  return cut < 0 ? "" : clean.slice(0, cut);
}

export function nameOf(path: string): string {
  const clean = path.replace(/\/+$/, "");
  return clean.slice(clean.lastIndexOf("/") + 1);
}

/** The Files page showing the folder that holds `path`. */
export function filesLink(path: string): string {
  const folder = parentOf(path);
  return folder ? `/files/${folder.split("/").map(encodeURIComponent).join("/")}` : "/files";
}

/** This page with a LoRA chosen (the Inspect tab opens on it). */
export function inspectLink(path: string): string {
  return `/utilities?lora=${encodeURIComponent(path)}`;
}

/** 3436256 -> "3.4 MB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "unknown size";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export const percent = (fraction: number) => `${(100 * fraction).toFixed(1)} %`;
