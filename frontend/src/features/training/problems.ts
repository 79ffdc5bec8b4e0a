// The server's verdict on a config, arranged for the form: problems at their settings, the rest for the summary.
import { rootPath, type FieldProblems } from "@/components/schemaForm";
import type { Checked, Problem } from "./api";

export interface Arranged {
  /** By setting path, for the form. */
  byField: FieldProblems;
  /** Every problem (must be fixed), with the setting it belongs to when the form shows that setting. */
  problems: (Problem & { at: string | null })[];
  /** Warnings no setting shows. */
  otherWarnings: Problem[];
}

export function arrange(checked: Checked | undefined, known: Set<string>): Arranged {
  const byField: FieldProblems = {};
  const problems: Arranged["problems"] = [];
  const otherWarnings: Problem[] = [];
  const add = (problem: Problem, level: "problem" | "warning") => {
    const field = problem.field ?? null;
    const at = field !== null && known.has(rootPath(field)) ? field : null;
    if (at !== null) (byField[at] ??= []).push({ message: problem.message, fix: problem.fix, level });
    if (level === "problem") problems.push({ ...problem, at });
    else if (at === null) otherWarnings.push(problem);
  };
  for (const problem of checked?.problems ?? []) add(problem, "problem");
  for (const warning of checked?.warnings ?? []) add(warning, "warning");
  return { byField, problems, otherWarnings };
}

/** Why the Start button cannot start now, in words; null when it can. */
export function whyNotStart(state: {
  loaded: boolean;
  checking: boolean;
  failed: boolean;
  problems: number;
  starting: boolean;
}): string | null {
  if (!state.loaded) return "Loading the settings…";
  if (state.starting) return "Starting…";
  if (state.failed) return "The settings could not be checked: see the message below.";
  if (state.checking) return "Checking the settings…";
  if (state.problems > 0) {
    return `Fix ${state.problems === 1 ? "the problem" : `the ${state.problems} problems`} listed beside the form first.`;
  }
  return null;
}
