// The list of keyboard shortcuts shown by the `?` overlay. A page lists its own while it is mounted:
//   useShortcutHelp("Datasets", [{ keys: ["e"], description: "Edit the selected caption" }]);
// (this only lists them; the page handles the keys itself).
import { useEffect, useSyncExternalStore } from "react";

export interface Shortcut {
  /** Keys pressed one after the other, e.g. ["g", "f"], or a combination, e.g. ["Ctrl+Z"]. */
  keys: string[];
  description: string;
}
export interface ShortcutGroup {
  title: string;
  shortcuts: Shortcut[];
}

let groups: ShortcutGroup[] = [];
const listeners = new Set<() => void>();
const emit = () => listeners.forEach((listener) => listener());

export function registerShortcuts(group: ShortcutGroup): () => void {
  groups = [...groups, group];
  emit();
  return () => {
    groups = groups.filter((g) => g !== group);
    emit();
  };
}

export function useShortcutGroups(): ShortcutGroup[] {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => groups,
  );
}

/** List `shortcuts` under `title` in the `?` overlay while the calling component is mounted. */
export function useShortcutHelp(title: string, shortcuts: Shortcut[]): void {
  const key = JSON.stringify(shortcuts);
  useEffect(() => registerShortcuts({ title, shortcuts: JSON.parse(key) as Shortcut[] }), [title, key]);
}

/** True when a key press belongs to a text field (shortcuts must not steal typing). */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}
