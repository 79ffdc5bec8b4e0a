// One setting: its control, plain-words help, range, the recommended value with a reset, and its problems.
import { Badge, Button, Group, Stack, Text } from "@mantine/core";
import { IconAlertTriangle, IconRotate } from "@tabler/icons-react";
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
          <Text span fw={600} inherit>
            What to do:
          </Text>{" "}
          {problem.fix}
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
      {spec.label}{" "}
      <Text span size="xs" c="dimmed" ff="monospace" fw={400}>
        {path}
      </Text>
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
      <Stack gap={2} component="span">
        {errors.map((problem, index) => (
          <span key={index}>{problemText(problem)}</span>
        ))}
      </Stack>
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
      {recommended !== null && recommended !== undefined ? (
        <Group gap="xs" mt={4}>
          <Text size="xs" c="dimmed">
            Recommended: {formatValue(recommended)}
          </Text>
          {canReset ? (
            <Button
              size="compact-xs"
              variant="subtle"
              leftSection={<IconRotate size={12} aria-hidden="true" />}
              onClick={() => onChange(path, recommended)}
              aria-label={`Reset ${spec.label} to recommended (${formatValue(recommended)})`}
            >
              Reset to recommended
            </Button>
          ) : null}
        </Group>
      ) : null}
      {effect && EFFECT_WORDS[effect] ? (
        <Badge size="xs" variant="outline" color="gray" mt={4}>
          {EFFECT_WORDS[effect]}
        </Badge>
      ) : null}
      {warnings.map((warning, index) => (
        <Group key={index} gap={4} mt={4} wrap="nowrap" align="flex-start">
          <IconAlertTriangle size={14} aria-hidden="true" />
          <Text size="xs">
            <Text span fw={600} inherit>
              Warning:
            </Text>{" "}
            {problemText(warning)}
          </Text>
        </Group>
      ))}
    </div>
  );
}

/** Memoised: typing in one setting re-renders that setting only. */
export const FieldRow = memo(FieldRowInner);
