// The form generated from the server's schema: essentials first, then sections that open on demand.
import { Badge, Button, Card, Group, Stack, Text, Title, UnstyledButton } from "@mantine/core";
import { IconAlertTriangle, IconChevronDown, IconChevronRight } from "@tabler/icons-react";
import { forwardRef, useCallback, useImperativeHandle, useMemo, useState } from "react";
import { FieldRow } from "./FieldRow";
import { fieldId, getIn, sameValue } from "./model";
import type { ConfigValue, FieldProblems, FieldSpec, FormSection } from "./types";

export interface FormGroup {
  key: string;
  title: string;
  description?: string;
  /** The server's sections whose settings go here. */
  sections: string[];
  /** Only settings of these levels (all when absent). */
  levels?: FieldSpec["help"]["level"][];
}

export interface FormLayout {
  /** Settings shown first, always open, in this order. */
  essentials: string[];
  /** Then these groups, collapsed; a setting goes to the first group that takes it, else to the last group. */
  groups: FormGroup[];
}

/** One group per server section, nothing pinned: the layout when a caller has no opinion. */
export function sectionLayout(sections: FormSection[]): FormLayout {
  return {
    essentials: [],
    groups: sections.map((s) => ({ key: s.name, title: s.title, description: s.description, sections: [s.name] })),
  };
}

export interface PlacedGroup {
  key: string;
  title: string;
  description?: string;
  fields: FieldSpec[];
}

/** Every setting placed exactly once: essentials, then groups (the last group takes what no group names). */
export function place(sections: FormSection[], layout: FormLayout): { essentials: FieldSpec[]; groups: PlacedGroup[] } {
  const all = sections.flatMap((s) => s.fields);
  const byPath = new Map(all.map((f) => [f.help.path, f]));
  const essentials = layout.essentials.map((path) => byPath.get(path)).filter((f): f is FieldSpec => Boolean(f));
  const pinned = new Set(essentials.map((f) => f.help.path));
  const groups: PlacedGroup[] = layout.groups.map((g) => ({ key: g.key, title: g.title, description: g.description, fields: [] }));
  for (const field of all) {
    if (pinned.has(field.help.path)) continue;
    const index = layout.groups.findIndex(
      (g) => g.sections.includes(field.help.section || "general") && (!g.levels || g.levels.includes(field.help.level)),
    );
    const target = groups[index >= 0 ? index : groups.length - 1];
    if (target) target.fields.push(field);
  }
  return { essentials, groups: groups.filter((g) => g.fields.length > 0) };
}

/** The setting a problem belongs to: "dataset.subsets[0].image_dir" -> "dataset.subsets". */
export const rootPath = (path: string) => path.replace(/\[\d+\].*$/, "");

export interface SchemaFormHandle {
  /** Open the group holding a setting and move the focus to it. */
  reveal(path: string): void;
}

export interface SchemaFormProps {
  sections: FormSection[];
  value: ConfigValue;
  onChange: (path: string, value: unknown) => void;
  problems?: FieldProblems;
  layout?: FormLayout;
}

function countProblems(fields: FieldSpec[], problems: FieldProblems): number {
  const paths = new Set(fields.map((f) => f.help.path));
  return Object.entries(problems).filter(
    ([path, list]) => paths.has(rootPath(path)) && list.some((p) => p.level !== "warning"),
  ).length;
}

export const SchemaForm = forwardRef<SchemaFormHandle, SchemaFormProps>(function SchemaForm(
  { sections, value, onChange, problems = {}, layout },
  ref,
) {
  const chosen = useMemo(() => layout ?? sectionLayout(sections), [layout, sections]);
  const placed = useMemo(() => place(sections, chosen), [sections, chosen]);
  const [open, setOpen] = useState<Set<string>>(() => new Set());
  const getNested = useCallback((path: string) => getIn(value, path), [value]);

  useImperativeHandle(
    ref,
    () => ({
      reveal(path: string) {
        const root = rootPath(path);
        const group = placed.groups.find((g) => g.fields.some((f) => f.help.path === root));
        if (group) setOpen((current) => new Set(current).add(group.key));
        // After the group has rendered its settings.
        window.setTimeout(() => {
          const target = document.getElementById(fieldId(path)) ?? document.getElementById(fieldId(root));
          const control = target?.matches("input, select, textarea, button")
            ? target
            : target?.querySelector<HTMLElement>("input, select, textarea, button");
          control?.focus();
          target?.scrollIntoView?.({ block: "center" });
        }, 0);
      },
    }),
    [placed],
  );

  const row = (spec: FieldSpec) => (
    <FieldRow
      key={spec.help.path}
      spec={spec}
      path={spec.help.path}
      value={getIn(value, spec.help.path)}
      onChange={onChange}
      problems={problems[spec.help.path]}
      allProblems={spec.widget.kind === "records" ? problems : undefined}
      getNested={spec.widget.kind === "records" ? getNested : undefined}
    />
  );

  return (
    <Stack gap="md">
      {placed.essentials.length > 0 ? (
        <Card withBorder padding="md" component="section" aria-labelledby="schema-essentials">
          <Title order={2} size="h4" id="schema-essentials" mb="sm">
            Essentials
          </Title>
          <Stack gap="md">{placed.essentials.map(row)}</Stack>
        </Card>
      ) : null}
      <Group justify="space-between">
        <Title order={2} size="h4">
          All settings
        </Title>
        <Group gap="xs">
          <Button size="compact-sm" variant="default" onClick={() => setOpen(new Set(placed.groups.map((g) => g.key)))}>
            Open all sections
          </Button>
          <Button size="compact-sm" variant="default" onClick={() => setOpen(new Set())}>
            Close all sections
          </Button>
        </Group>
      </Group>
      {placed.groups.map((group) => {
        const isOpen = open.has(group.key);
        const panel = `schema-group-${group.key}`;
        const changed = group.fields.filter((f) => {
          const current = getIn(value, f.help.path);
          return current !== undefined && !sameValue(current, f.default);
        }).length;
        const wrong = countProblems(group.fields, problems);
        return (
          <Card withBorder padding={0} key={group.key} component="section">
            <Title order={3} size="h5" m={0}>
              <UnstyledButton
                aria-expanded={isOpen}
                aria-controls={panel}
                onClick={() =>
                  setOpen((current) => {
                    const next = new Set(current);
                    if (next.has(group.key)) next.delete(group.key);
                    else next.add(group.key);
                    return next;
                  })
                }
                p="md"
                w="100%"
                className="schema-group-toggle"
              >
                <Group justify="space-between" wrap="nowrap">
                  <Group gap="xs" wrap="nowrap">
                    {isOpen ? <IconChevronDown size={16} aria-hidden="true" /> : <IconChevronRight size={16} aria-hidden="true" />}
                    <span>{group.title}</span>
                  </Group>
                  <Group gap={6} wrap="nowrap">
                    <Text span size="xs" c="dimmed">
                      {group.fields.length} settings{changed ? `, ${changed} changed` : ""}
                    </Text>
                    {wrong ? (
                      <Badge color="red" variant="light" leftSection={<IconAlertTriangle size={12} aria-hidden="true" />}>
                        {wrong} {wrong === 1 ? "problem" : "problems"}
                      </Badge>
                    ) : null}
                  </Group>
                </Group>
              </UnstyledButton>
            </Title>
            {isOpen ? (
              <Stack gap="md" p="md" pt={0} id={panel}>
                {group.description ? (
                  <Text size="sm" c="dimmed">
                    {group.description}
                  </Text>
                ) : null}
                {group.fields.map(row)}
              </Stack>
            ) : null}
          </Card>
        );
      })}
    </Stack>
  );
});
