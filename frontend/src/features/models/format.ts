// Plain-words formatting for the Models page.

export const FAMILY_LABELS: Record<string, string> = {
  sd1: "SD 1.x",
  sd2: "SD 2.x",
  sdxl: "SDXL",
  sd3: "SD3",
  flux: "Flux.1",
};

export function familyLabel(family: string | null | undefined, variant?: string | null): string {
  if (!family) return "Not recognised";
  const name = FAMILY_LABELS[family] ?? family;
  return variant && variant !== "base" ? `${name} ${variant}` : name;
}

/** 3436256 -> "3.4 MB" (decimal units, as file browsers show them). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "unknown size";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${value} bytes`;
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(seconds: number | null | undefined): string | null {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return null;
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export const STATE_WORDS: Record<string, string> = {
  queued: "Waiting to start",
  running: "Downloading",
  completed: "Finished",
  stopped: "Paused",
  failed: "Failed",
  cancelled: "Cancelled",
  interrupted: "Interrupted",
};

export const SERVICE_NAMES = { civitai: "Civitai", huggingface: "Hugging Face" } as const;

/** Where a user gets a token, and what kind is enough. */
export const TOKEN_PAGES = {
  civitai: { url: "https://civitai.com/user/account", where: "civitai.com/user/account", hint: "in the API Keys section" },
  huggingface: {
    url: "https://huggingface.co/settings/tokens",
    where: "huggingface.co/settings/tokens",
    hint: "a “Read” token is enough",
  },
} as const;

/** The library folders, in the order the page shows them. */
export const KINDS = [
  { folder: "checkpoints", title: "Checkpoints", what: "base models to train on", empty: "No checkpoints yet." },
  { folder: "vae", title: "VAEs", what: "image decoders that can replace a checkpoint's own", empty: "No VAEs yet." },
  { folder: "loras", title: "LoRAs", what: "LoRA and LyCORIS adapters", empty: "No LoRAs yet." },
  { folder: "embeddings", title: "Embeddings", what: "textual inversion embeddings", empty: "No embeddings yet." },
  { folder: "taggers", title: "Taggers", what: "WD14 models that tag images", empty: "No taggers yet." },
] as const;

/** The colour of this page's filled buttons: white on blue-8 is 5:1 (the theme's blue-7 is 4.2:1). */
export const FILLED = "blue.8";
