// One setting: its control, plain-words help, range, the recommended value with a reset, and its problems.
import { memo, type ReactNode } from "react";
import { fieldId, formatValue, sameValue } from "./model";
import type { FieldProblem, FieldProblems, FieldSpec } from "./types";
import { WidgetInput } from "./widgets";

export interface FieldRowProps {
  spec: FieldSpec;
  /** Where the value lives (differs from spec.help.path inside list-of-tables entries). */
  path: string;
  value: unknown;
  onChange: (path: string, value: unknown) => void;
  /** This setting's problems and warnings. */
  problems?: FieldProblem[];
  /** Every problem, for settings with nested entries. */
  allProblems?: FieldProblems;
  getNested?: (path: string) => unknown;
}

function rangeWords(spec: FieldSpec): string | null {
  const { minimum, maximum, unit } = spec.help;
  const suffix = unit ? ` ${unit}` : "";
  if (minimum !== null && maximum !== null) return `Allowed: ${minimum} to ${maximum}${suffix}.`;
  if (minimum !== null) return `Allowed: ${minimum} or more${suffix}.`;
  if (maximum !== null) return `Allowed: up to ${maximum}${suffix}.`;
  return unit ? `In ${unit}.` : null;
}

const EFFECT_WORDS: Record<string, string> = {
  "export-only": "sd-scripts only",
  refused: "not in lorakit's trainer yet",
};

function problemText(problem: FieldProblem): ReactNode {
  return (
    <>
      {problem.message}
      {problem.fix ? (
        <>
          {" "}
          <strong>What to do:</strong> {problem.fix}
        </>
      ) : null}
    </>
  );
}

function FieldRowInner({ spec, path, value, onChange, problems, allProblems, getNested }: FieldRowProps) {
  const id = fieldId(path);
  const errors = (problems ?? []).filter((p) => p.level !== "warning");
  const warnings = (problems ?? []).filter((p) => p.level === "warning");
  const { recommended, effect } = spec.help;
  const range = rangeWords(spec);
  const label = (
    <>
      {spec.label} <span className="sf-path">{path}</span>
    </>
  );
  const description = (
    <>
      {spec.help.help}
      {range ? ` ${range}` : ""}
    </>
  );
  const error =
    errors.length === 0 ? undefined : errors.length === 1 ? (
      problemText(errors[0] as FieldProblem)
    ) : (
      <>
        {errors.map((problem, index) => (
          <div key={index}>{problemText(problem)}</div>
        ))}
      </>
    );
  const shown = value === undefined ? spec.default : value;
  const canReset = recommended !== null && recommended !== undefined && !sameValue(shown, recommended);
  return (
    <div className="schema-field" data-setting={path}>
      <WidgetInput
        widget={spec.widget}
        id={id}
        label={label}
        name={spec.label}
        description={description}
        error={error}
        value={shown}
        nullable={spec.nullable}
        onChange={(next) => onChange(path, next)}
        problems={allProblems}
        path={path}
        renderNested={(nested, nestedPath) => (
          <FieldRow
            key={nestedPath}
            spec={nested}
            path={nestedPath}
            value={getNested?.(nestedPath)}
            onChange={onChange}
            problems={allProblems?.[nestedPath]}
          />
        )}
      />
      {(recommended !== null && recommended !== undefined) || (effect && EFFECT_WORDS[effect]) ? (
        <div className="sf-meta">
          {recommended !== null && recommended !== undefined ? <span>Recommended: {formatValue(recommended)}</span> : null}
          {canReset ? (
            <button
              type="button"
              className="sf-link"
              onClick={() => onChange(path, recommended)}
              aria-label={`Reset ${spec.label} to recommended (${formatValue(recommended)})`}
            >
              Reset to recommended
            </button>
          ) : null}
          {effect && EFFECT_WORDS[effect] ? <span className="sf-badge">{EFFECT_WORDS[effect]}</span> : null}
        </div>
      ) : null}
      {warnings.map((warning, index) => (
        <div key={index} className="sf-warning">
          <strong>Warning:</strong> {problemText(warning)}
        </div>
      ))}
    </div>
  );
}

/** Memoised: typing in one setting re-renders that setting only. */
export const FieldRow = memo(FieldRowInner);
