// An in-memory workspace behind the FilesApi interface (tests only), refusing what the server refuses,
// in the server's words. Files that arrive through `uploads` (a FakeUploadServer) show up in listings.
import { ApiError } from "@/api/client";
import type { Entry, FilesApi, Job, TrashEntry } from "./api";
import { FakeUploadServer } from "./fakeUploadServer";

interface Node {
  is_dir: boolean;
  size: number;
}

function kindOf(name: string, isDir: boolean): string {
  if (isDir) return "folder";
  if (/\.(png|jpe?g|webp)$/i.test(name)) return "image";
  if (/\.(txt|caption)$/i.test(name)) return "text";
  if (/\.zip$/i.test(name)) return "archive";
  return "file";
}

const parent = (path: string) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");
const base = (path: string) => path.slice(path.lastIndexOf("/") + 1);

export class FakeWorkspace {
  nodes = new Map<string, Node>();
  trashed: (TrashEntry & { nodes: [string, Node][] })[] = [];
  uploads = new FakeUploadServer();
  /** What the next import answers (a job, or an error to throw). */
  importAnswer: Job | ApiError | null = null;
  calls: string[] = [];
  private nextId = 1;

  constructor(paths: string[]) {
    for (const folder of ["datasets", "models", "outputs", "configs", "trash"]) this.nodes.set(folder, { is_dir: true, size: 0 });
    for (const path of paths) this.add(path);
  }

  /** A file, or a folder when the path ends with a slash (parents are made as needed). */
  add(path: string, size = 10): void {
    const parts = path.replace(/\/$/, "").split("/");
    for (let i = 1; i < parts.length; i += 1) this.nodes.set(parts.slice(0, i).join("/"), { is_dir: true, size: 0 });
    this.nodes.set(parts.join("/"), path.endsWith("/") ? { is_dir: true, size: 0 } : { is_dir: false, size });
  }

  private sync(): void {
    for (const [path, bytes] of this.uploads.files) if (!this.nodes.has(path)) this.add(path, bytes.length);
  }

  private entry(path: string): Entry {
    const node = this.nodes.get(path)!;
    return { name: base(path), path, is_dir: node.is_dir, size: node.size, modified: 1_700_000_000, kind: kindOf(path, node.is_dir) };
  }

  private must(path: string): Node {
    const node = this.nodes.get(path);
    if (!node) throw new ApiError(404, { code: "not_found", message: `Nothing is at '${path}' in the workspace.`, fix: "Check the name.", field: "path" });
    return node;
  }

  private subtree(path: string): [string, Node][] {
    return [...this.nodes].filter(([p]) => p === path || p.startsWith(`${path}/`));
  }

  private relocate(from: string, to: string): void {
    for (const [p, node] of this.subtree(from)) {
      this.nodes.delete(p);
      this.nodes.set(to + p.slice(from.length), node);
    }
  }

  api: FilesApi = {
    list: async (path) => {
      this.calls.push(`list ${path}`);
      this.sync();
      if (path) this.must(path);
      const entries = [...this.nodes.keys()].filter((p) => parent(p) === path).map((p) => this.entry(p));
      entries.sort((a, b) => Number(b.is_dir) - Number(a.is_dir) || a.name.localeCompare(b.name));
      return { path, entries };
    },
    mkdir: async (path) => {
      this.calls.push(`mkdir ${path}`);
      this.nodes.set(path, { is_dir: true, size: 0 });
      return this.entry(path);
    },
    rename: async (path, name) => {
      this.calls.push(`rename ${path} ${name}`);
      this.must(path);
      const target = [parent(path), name].filter(Boolean).join("/");
      if (this.nodes.has(target)) {
        throw new ApiError(409, { code: "conflict", message: `'${name}' already exists there.`, fix: "Choose another name.", field: "name" });
      }
      this.relocate(path, target);
      return this.entry(target);
    },
    move: async (paths, to) => {
      this.calls.push(`move ${paths.join(",")} ${to}`);
      if (!this.must(to).is_dir) throw new ApiError(400, { code: "not_a_folder", message: `'${to}' is not a folder.`, fix: "Move into a folder.", field: "to" });
      for (const path of paths) {
        if (this.nodes.has(`${to}/${base(path)}`)) {
          throw new ApiError(409, { code: "conflict", message: `'${base(path)}' already exists in '${to}'.`, fix: "Rename one of them first." });
        }
      }
      return paths.map((path) => {
        this.relocate(path, `${to}/${base(path)}`);
        return this.entry(`${to}/${base(path)}`);
      });
    },
    trash: async (paths) => {
      this.calls.push(`trash ${paths.join(",")}`);
      return paths.map((path) => {
        const node = this.must(path);
        const item = {
          id: `t${this.nextId++}`,
          original_path: path,
          trashed_at: 1_700_000_000 + this.nextId,
          name: base(path),
          is_dir: node.is_dir,
          trash: "",
          nodes: this.subtree(path),
        };
        for (const [p] of item.nodes) this.nodes.delete(p);
        this.trashed.unshift(item);
        return item;
      });
    },
    listTrash: async () => this.trashed.map(({ nodes: _nodes, ...item }) => item),
    restore: async (item) => {
      this.calls.push(`restore ${item.id}`);
      const found = this.trashed.find((t) => t.id === item.id && t.trash === (item.trash ?? ""));
      if (!found) throw new ApiError(404, { code: "not_found", message: `There is no item '${item.id}' in the trash.`, fix: "Reload the trash list." });
      this.trashed = this.trashed.filter((t) => t !== found);
      for (const [p, node] of found.nodes) this.nodes.set(p, node);
      return this.entry(found.original_path);
    },
    emptyTrash: async () => {
      this.calls.push("empty trash");
      const removed = this.trashed.map(({ nodes: _nodes, ...item }) => item);
      this.trashed = [];
      return removed;
    },
    importToDataset: async (sources, to) => {
      this.calls.push(`import ${sources.join(",")} ${to}`);
      if (this.importAnswer instanceof ApiError) throw this.importAnswer;
      return this.importAnswer ?? ({ id: "job1", state: "queued" } as Job);
    },
    job: async (id) => ({ id, kind: "import", state: "completed", result: { imported: [1, 2], skipped: [] } }) as unknown as Job,
  };
}
