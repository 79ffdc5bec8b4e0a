// What a drop or a picker hands the page, as files with their relative paths (folders keep their structure),
// and which of them are uploaded: from a folder, only images and their captions; hidden files never.

export interface PickedFile {
  file: File;
  /** Relative to the drop: "a.png" for a loose file, "cats/10_cat/a.png" inside a dropped folder. */
  relativePath: string;
}

export interface Skipped {
  relativePath: string;
  reason: string;
}

export const IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".avif", ".heic", ".jxl"];
export const CAPTION_EXTENSIONS = [".txt", ".caption"];

function extension(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot).toLowerCase() : "";
}

/** Why a file is not uploaded, or null when it is. */
export function skipReason(relativePath: string): string | null {
  const parts = relativePath.split("/").filter(Boolean);
  const hiddenPart = parts.find((part) => part.startsWith("."));
  if (hiddenPart !== undefined) {
    return hiddenPart === parts[parts.length - 1] ? "a hidden file" : `inside the hidden folder ${hiddenPart}`;
  }
  if (parts.length > 1) {
    const ext = extension(parts[parts.length - 1] ?? "");
    if (!IMAGE_EXTENSIONS.includes(ext) && !CAPTION_EXTENSIONS.includes(ext)) {
      return "not an image or a caption (folders bring only images and their .txt/.caption files)";
    }
  }
  return null;
}

/** Split into what goes up and what is skipped (with the reason, to list on the page). */
export function sortOut(picked: PickedFile[]): { upload: PickedFile[]; skipped: Skipped[] } {
  const upload: PickedFile[] = [];
  const skipped: Skipped[] = [];
  const sorted = [...picked].sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
  for (const item of sorted) {
    const reason = skipReason(item.relativePath);
    if (reason) skipped.push({ relativePath: item.relativePath, reason });
    else upload.push(item);
  }
  return { upload, skipped };
}

/** Files from an <input type="file"> (with webkitdirectory each carries its path inside the folder). */
export function fromInput(files: FileList | File[]): PickedFile[] {
  return Array.from(files).map((file) => ({
    file,
    relativePath: (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name,
  }));
}

// The File and Directories Entries API, as browsers hand it to a drop (only the parts used here).
interface FsEntry {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
}
interface FsFileEntry extends FsEntry {
  file(success: (file: File) => void, failure: (error: unknown) => void): void;
}
interface FsDirectoryEntry extends FsEntry {
  createReader(): { readEntries(success: (entries: FsEntry[]) => void, failure: (error: unknown) => void): void };
}

async function walk(entry: FsEntry, prefix: string, out: PickedFile[]): Promise<void> {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FsFileEntry).file(resolve, reject));
    out.push({ file, relativePath: path });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as FsDirectoryEntry).createReader();
  // readEntries hands out a folder's entries in batches (100 in Chromium) until it returns none.
  for (;;) {
    const batch = await new Promise<FsEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) await walk(child, path, out);
  }
}

/** Every file of a drop, folders walked recursively with their structure kept. */
export async function fromDataTransfer(data: DataTransfer): Promise<PickedFile[]> {
  const entries: FsEntry[] = [];
  for (const item of Array.from(data.items ?? [])) {
    if (item.kind !== "file") continue;
    const entry = (item as DataTransferItem & { webkitGetAsEntry?: () => FsEntry | null }).webkitGetAsEntry?.();
    if (entry) entries.push(entry);
  }
  if (entries.length === 0) return fromInput(data.files); // no entries API: plain files
  const out: PickedFile[] = [];
  for (const entry of entries) await walk(entry, "", out);
  return out;
}

/** The workspace path a picked file goes to, inside the folder being browsed. */
export function targetPath(folder: string, relativePath: string): string {
  return [folder, relativePath].filter(Boolean).join("/");
}
