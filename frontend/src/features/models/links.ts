// What a pasted model link is, in plain words, before anything is sent: the same forms the server accepts
// (src/lorakit/models/links.py, parse_link). The server checks again when the download starts.

export type LinkSource = "civitai" | "huggingface" | "url";

export type LinkCheck =
  | { ok: true; source: LinkSource; summary: string }
  | { ok: false; empty: boolean; problem: string; fix: string };

export const ACCEPTED_FORMS =
  "A Civitai model page or download link, a Hugging Face repository or file, or a direct https:// link to a file.";

const CIVITAI_HOSTS = new Set(["civitai.com", "www.civitai.com", "civitai.green", "civitai.red"]);
const HF_HOSTS = new Set(["huggingface.co", "www.huggingface.co", "hf.co"]);
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);
const REPO_PART = /^[\w.-]+$/;

function bad(problem: string, fix = ACCEPTED_FORMS): LinkCheck {
  return { ok: false, empty: false, problem, fix };
}

function isNumber(value: string | undefined | null): value is string {
  return !!value && /^\d+$/.test(value);
}

/** Understand a pasted link without any network access. */
export function checkLink(text: string): LinkCheck {
  let raw = text.trim().replace(/^[<"']+|[>"']+$/g, "");
  if (!raw) return { ok: false, empty: true, problem: "Paste a link to a model.", fix: ACCEPTED_FORMS };
  if (!raw.includes("://")) {
    const hostGuess = (raw.split("/", 1)[0] ?? "").toLowerCase();
    const parts = raw.split("/");
    if (CIVITAI_HOSTS.has(hostGuess) || HF_HOSTS.has(hostGuess)) {
      raw = `https://${raw}`;
    } else if (parts.length === 2 && parts.every((p) => REPO_PART.test(p))) {
      return { ok: true, source: "huggingface", summary: `Hugging Face repository ${raw}` };
    } else {
      return bad("This is not a web address.", `Copy the whole address from your browser. ${ACCEPTED_FORMS}`);
    }
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return bad("This is not a web address lorakit can read.", `Copy the whole address from your browser. ${ACCEPTED_FORMS}`);
  }
  const scheme = url.protocol.replace(/:$/, "");
  const host = url.hostname.toLowerCase();
  if (scheme !== "https" && scheme !== "http") {
    return bad(`${scheme}: links cannot be downloaded.`, "Use an https:// link.");
  }
  if (scheme === "http" && !LOOPBACK_HOSTS.has(host)) {
    return bad(
      "This is a plain http:// link: it is not encrypted, so the download could be tampered with.",
      "Use the https:// address of the same file.",
    );
  }
  const segments = url.pathname
    .split("/")
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  if (CIVITAI_HOSTS.has(host)) return civitai(segments, url.searchParams.get("modelVersionId"));
  if (HF_HOSTS.has(host)) return huggingface(segments);
  if (segments.length === 0) return bad("This link names a web site, not a file.", "Paste the link of the file itself.");
  return { ok: true, source: "url", summary: `The file ${segments.at(-1) ?? ""} from ${host}` };
}

function civitai(segments: string[], version: string | null): LinkCheck {
  const [a, b, c, id] = segments;
  if (a === "api" && ((b === "download" && c === "models") || (b === "v1" && c === "model-versions")) && id) {
    if (!isNumber(id)) return bad(`The version number "${id}" in this Civitai link is not a number.`);
    return { ok: true, source: "civitai", summary: `Civitai download (version ${id})` };
  }
  if (a === "models" && b) {
    if (!isNumber(b)) return bad(`The model number "${b}" in this Civitai link is not a number.`);
    if (version !== null && !isNumber(version)) return bad(`modelVersionId "${version}" is not a number.`);
    const which = version ? `version ${version}` : "its newest version";
    return { ok: true, source: "civitai", summary: `Civitai model ${b}, ${which}` };
  }
  return bad(
    "This Civitai link is not a model page or a download link.",
    "Open the model's page on Civitai and copy its address (civitai.com/models/…), or copy the link of its Download button.",
  );
}

function huggingface(segments: string[]): LinkCheck {
  if (segments[0] === "datasets" || segments[0] === "spaces") {
    return bad("This Hugging Face link is a dataset or a Space, not a model.", "Paste the link of a model repository.");
  }
  if (segments.length < 2) {
    return bad(
      "A Hugging Face link needs both the owner and the repository name.",
      "Copy the address of the repository page, like https://huggingface.co/owner/name.",
    );
  }
  const repo = `${segments[0]}/${segments[1]}`;
  if (segments.length === 2) return { ok: true, source: "huggingface", summary: `Hugging Face repository ${repo}` };
  const action = segments[2];
  if (action === "tree" && segments.length >= 4) {
    return { ok: true, source: "huggingface", summary: `Hugging Face repository ${repo} (${segments[3]})` };
  }
  if ((action === "blob" || action === "resolve") && segments.length >= 5) {
    return { ok: true, source: "huggingface", summary: `The file ${segments.slice(4).join("/")} from ${repo}` };
  }
  return bad(
    `lorakit does not know Hugging Face pages of the form …/${action}/….`,
    "Paste the repository's address, or a file's (…/blob/main/file.safetensors).",
  );
}
