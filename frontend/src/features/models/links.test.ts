import { describe, expect, it } from "vitest";
import examples from "./link-examples.json";
import { checkLink } from "./links";

describe("checkLink", () => {
  it.each([
    ["https://civitai.com/models/123/some-name?modelVersionId=456", "civitai", "Civitai model 123, version 456"],
    ["https://civitai.com/models/123", "civitai", "Civitai model 123, its newest version"],
    ["https://civitai.com/api/download/models/456", "civitai", "Civitai download (version 456)"],
    ["civitai.com/models/9", "civitai", "Civitai model 9, its newest version"],
    ["https://huggingface.co/stabilityai/sdxl-vae", "huggingface", "Hugging Face repository stabilityai/sdxl-vae"],
    ["stabilityai/sdxl-vae", "huggingface", "Hugging Face repository stabilityai/sdxl-vae"],
    ["https://huggingface.co/org/name/tree/fp16", "huggingface", "Hugging Face repository org/name (fp16)"],
    ["https://hf.co/org/name/blob/main/sub/x.safetensors", "huggingface", "The file sub/x.safetensors from org/name"],
    ["https://example.com/files/model.safetensors", "url", "The file model.safetensors from example.com"],
    ["http://127.0.0.1:9000/f/a.safetensors", "url", "The file a.safetensors from 127.0.0.1"],
  ])("understands %s", (link, source, summary) => {
    expect(checkLink(link)).toEqual({ ok: true, source, summary });
  });

  it.each([
    ["http://example.com/model.safetensors", "plain http:// link"],
    ["ftp://example.com/model.safetensors", "ftp: links cannot be downloaded"],
    ["https://civitai.com/user/someone", "not a model page or a download link"],
    ["https://civitai.com/models/abc", "is not a number"],
    ["https://huggingface.co/datasets/a/b", "a dataset or a Space"],
    ["https://huggingface.co/justowner", "both the owner and the repository name"],
    ["https://huggingface.co/org/name/discussions/3", "…/discussions/…"],
    ["https://example.com/", "names a web site, not a file"],
    ["just some words", "not a web address"],
  ])("refuses %s in plain words", (link, words) => {
    const check = checkLink(link);
    expect(check.ok).toBe(false);
    if (!check.ok) {
      expect(check.problem).toContain(words);
      expect(check.fix.length).toBeGreaterThan(10);
    }
  });

  // The same examples are checked against the server's parse_link (tests/web/test_models_api.py).
  it.each(Object.entries(examples.accepted))("agrees with the server that %s is a %s link", (link, source) => {
    expect(checkLink(link)).toMatchObject({ ok: true, source });
  });

  it.each(examples.refused)("agrees with the server that %j is refused", (link) => {
    expect(checkLink(link).ok).toBe(false);
  });

  it("asks for a link when there is none", () => {
    expect(checkLink("   ")).toMatchObject({ ok: false, empty: true, problem: "Paste a link to a model." });
  });
});
