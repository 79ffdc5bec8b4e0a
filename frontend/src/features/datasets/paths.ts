/** File names on the Datasets page: what a dropped file is, an image's name without its folder. */

const IMAGE = /\.(png|jpe?g|webp|gif|bmp|avif|heic|heif|tiff?)$/i;
const CAPTION = /\.(txt|caption)$/i;

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export function splitDropped(files: File[]): { accepted: File[]; skipped: string[] } {
  const accepted: File[] = [];
  const skipped: string[] = [];
  for (const file of files) {
    if (file.name.startsWith(".")) skipped.push(`${file.name} (hidden file)`);
    else if (IMAGE.test(file.name) || CAPTION.test(file.name)) accepted.push(file);
    else skipped.push(`${file.name} (not an image or caption)`);
  }
  return { accepted, skipped };
}
