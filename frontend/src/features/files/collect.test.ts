import { describe, expect, it } from "vitest";
import { fromDataTransfer, fromInput, skipReason, sortOut, targetPath } from "./collect";

function file(name: string, text = "x"): File {
  return new File([text], name);
}

// A folder as the File and Directories Entries API shows it, handing out entries in batches of two.
function folderEntry(name: string, children: object[]) {
  return {
    isFile: false,
    isDirectory: true,
    name,
    createReader() {
      let at = 0;
      return {
        readEntries(success: (entries: object[]) => void) {
          const batch = children.slice(at, at + 2);
          at += batch.length;
          setTimeout(() => success(batch), 0);
        },
      };
    },
  };
}

function fileEntry(name: string) {
  return { isFile: true, isDirectory: false, name, file: (success: (f: File) => void) => success(file(name)) };
}

describe("skipReason", () => {
  it("keeps loose files, and images with captions inside folders", () => {
    expect(skipReason("model.safetensors")).toBeNull();
    expect(skipReason("cats/a.PNG")).toBeNull();
    expect(skipReason("cats/10_cat/a.txt")).toBeNull();
    expect(skipReason("cats/a.caption")).toBeNull();
  });

  it("skips hidden files, anything in hidden folders, and non-images from folders", () => {
    expect(skipReason(".DS_Store")).toBe("a hidden file");
    expect(skipReason("cats/.thumbs/a.png")).toBe("inside the hidden folder .thumbs");
    expect(skipReason("cats/notes.pdf")).toMatch(/^not an image or a caption/);
    expect(skipReason("cats/README")).toMatch(/^not an image or a caption/);
  });
});

describe("collecting a drop", () => {
  it("walks dropped folders (every batch), keeps their structure and lists what it skips", async () => {
    const tree = folderEntry("cats", [
      fileEntry("a.png"),
      fileEntry("a.txt"),
      fileEntry(".DS_Store"),
      folderEntry("10_cat", [fileEntry("b.jpg"), fileEntry("b.txt"), fileEntry("notes.pdf")]),
    ]);
    const data = {
      items: [{ kind: "file", webkitGetAsEntry: () => tree }, { kind: "string" }],
      files: [],
    } as unknown as DataTransfer;
    const picked = await fromDataTransfer(data);
    expect(picked.map((p) => p.relativePath)).toEqual([
      "cats/a.png",
      "cats/a.txt",
      "cats/.DS_Store",
      "cats/10_cat/b.jpg",
      "cats/10_cat/b.txt",
      "cats/10_cat/notes.pdf",
    ]);
    const { upload, skipped } = sortOut(picked);
    expect(upload.map((p) => targetPath("datasets", p.relativePath))).toEqual([
      "datasets/cats/10_cat/b.jpg",
      "datasets/cats/10_cat/b.txt",
      "datasets/cats/a.png",
      "datasets/cats/a.txt",
    ]);
    expect(skipped.map((s) => s.relativePath)).toEqual(["cats/.DS_Store", "cats/10_cat/notes.pdf"]); // sorted by path
  });

  it("takes the files of a drop without the entries API, and a folder picker's relative paths", async () => {
    const plain = await fromDataTransfer({ items: [], files: [file("a.zip")] } as unknown as DataTransfer);
    expect(plain.map((p) => p.relativePath)).toEqual(["a.zip"]);
    const withPath = file("b.png");
    Object.defineProperty(withPath, "webkitRelativePath", { value: "set/b.png" });
    expect(fromInput([withPath, file("c.png")]).map((p) => p.relativePath)).toEqual(["set/b.png", "c.png"]);
  });
});
