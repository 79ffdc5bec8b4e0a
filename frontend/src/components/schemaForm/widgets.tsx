// One input per kind of value. Every control is labelled; problems are passed in as `error` (at the field).
import {
  ActionIcon,
  Button,
  Fieldset,
  Group,
  SegmentedControl,
  Stack,
  Text,
} from "@mantine/core";
import { IconPlus, IconTrash } from "@tabler/icons-react";
import { type ReactNode, useEffect, useMemo, useState } from "react";
import "./schemaForm.css";
import { fieldId } from "./model";
import type { FieldSpec, FieldProblems, Widget } from "./types";

export interface WidgetProps {
  widget: Widget;
  id: string;
  label: ReactNode;
  /** The plain-words label as text (for the items of lists: "Block dims, item 2"). */
  name: string;
  description?: ReactNode;
  error?: ReactNode;
  value: unknown;
  nullable: boolean;
  onChange: (value: unknown) => void;
  /** Problems of nested settings (list-of-tables entries). */
  problems?: FieldProblems;
  /** Where nested settings live: "dataset.subsets". */
  path?: string;
  /** Renders one nested setting (the form's FieldRow); passed in so widgets and rows do not import each other. */
  renderNested?: (spec: FieldSpec, path: string) => ReactNode;
}

/** Text -> number as the field's kind allows; anything else stays text so the server can say what is wrong. */
export function parseNumber(text: string, kind: "integer" | "number", nullable: boolean): unknown {
  const trimmed = text.trim();
  if (trimmed === "") return nullable ? null : "";
  const number = Number(trimmed);
  if (!Number.isFinite(number)) return trimmed;
  if (kind === "integer" && !Number.isInteger(number)) return trimmed;
  return number;
}

const numberText = (value: unknown) => (value === null || value === undefined ? "" : String(value));

/** The shell of a one-control setting: plain elements (a form of 200 settings renders several times faster
 * than with a component library's inputs), styled with the theme's variables in schemaForm.css. */
function Plain({ id, label, description, error, children, inline = false }: { id: string; label: ReactNode; description?: ReactNode; error?: ReactNode; children: ReactNode; inline?: boolean }) {
  return (
    <div className={inline ? "sf-plain sf-inline" : "sf-plain"}>
      {inline ? children : null}
      <div className="sf-text">
        <label htmlFor={id} className="sf-label">
          {label}
        </label>
        {description ? (
          <div id={`${id}-description`} className="sf-description">
            {description}
          </div>
        ) : null}
      </div>
      {inline ? null : children}
      {error ? (
        <div id={`${id}-error`} className="sf-error">
          {error}
        </div>
      ) : null}
    </div>
  );
}

/** The ARIA attributes that tie a control to its help and its problem. */
function aria(id: string, description: ReactNode, error: ReactNode) {
  const described = [description ? `${id}-description` : null, error ? `${id}-error` : null].filter(Boolean).join(" ");
  return { "aria-describedby": described || undefined, "aria-invalid": error ? true : undefined };
}

function NumberWidget({ widget, id, label, description, error, value, nullable, onChange }: WidgetProps) {
  const kind = widget.kind === "integer" ? "integer" : "number";
  const [text, setText] = useState(numberText(value));
  // A new value from outside (reset, preset, TOML) replaces the text unless the text already means it.
  useEffect(() => {
    setText((current) => (parseNumber(current, kind, nullable) === value ? current : numberText(value)));
  }, [value, kind, nullable]);
  return (
    <Plain id={id} label={label} description={description} error={error}>
      <input
        id={id}
        className="sf-input"
        inputMode={kind === "integer" ? "numeric" : "decimal"}
        placeholder={nullable ? "not set" : undefined}
        value={text}
        {...aria(id, description, error)}
        onChange={(event) => {
          setText(event.currentTarget.value);
          onChange(parseNumber(event.currentTarget.value, kind, nullable));
        }}
      />
    </Plain>
  );
}

/** A labelled group for values made of several controls (lists, either-or, entries). */
function Composite({ id, label, description, error, children }: { id: string; label: ReactNode; description?: ReactNode; error?: ReactNode; children: ReactNode }) {
  const described = [description ? `${id}-description` : null, error ? `${id}-error` : null].filter(Boolean).join(" ");
  return (
    <div role="group" id={id} aria-labelledby={`${id}-label`} aria-describedby={described || undefined} className="sf-plain">
      <div id={`${id}-label`} className="sf-label">
        {label}
      </div>
      {description ? (
        <div id={`${id}-description`} className="sf-description">
          {description}
        </div>
      ) : null}
      {children}
      {error ? (
        <div id={`${id}-error`} className="sf-error">
          {error}
        </div>
      ) : null}
    </div>
  );
}

const NOT_SET = "";

function Select({ id, label, description, error, options, value, onChange }: { id: string; label: ReactNode; description?: ReactNode; error?: ReactNode; options: { value: string; label: string }[]; value: string; onChange: (value: string) => void }) {
  return (
    <Plain id={id} label={label} description={description} error={error}>
      <select id={id} className="sf-input sf-select" value={value} {...aria(id, description, error)} onChange={(event) => onChange(event.currentTarget.value)}>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </Plain>
  );
}

function ChoiceWidget({ widget, id, label, description, error, value, nullable, onChange }: WidgetProps) {
  if (widget.kind !== "choice") return null;
  const options = [
    ...(nullable ? [{ value: NOT_SET, label: "Not set" }] : []),
    ...widget.options.map((option) => ({ value: String(option), label: String(option) })),
  ];
  return (
    <Select
      id={id}
      label={label}
      description={description}
      error={error}
      options={options}
      value={value === null || value === undefined ? NOT_SET : String(value)}
      onChange={(picked) => {
        if (picked === NOT_SET) return onChange(null);
        onChange(widget.options.find((option) => String(option) === picked) ?? picked);
      }}
    />
  );
}

const YES_NO = [
  { value: "", label: "Not set (automatic)" },
  { value: "true", label: "On" },
  { value: "false", label: "Off" },
];

function BooleanWidget({ id, label, description, error, value, nullable, onChange }: WidgetProps) {
  if (nullable) {
    return (
      <Select
        id={id}
        label={label}
        description={description}
        error={error}
        options={YES_NO}
        value={value === true ? "true" : value === false ? "false" : ""}
        onChange={(picked) => onChange(picked === "" ? null : picked === "true")}
      />
    );
  }
  return (
    <Plain id={id} label={label} description={description} error={error} inline>
      <input
        id={id}
        type="checkbox"
        role="switch"
        className="sf-switch"
        checked={value === true}
        {...aria(id, description, error)}
        onChange={(event) => onChange(event.currentTarget.checked)}
      />
    </Plain>
  );
}

function TextWidget({ widget, id, label, description, error, value, nullable, onChange }: WidgetProps) {
  return (
    <Plain id={id} label={label} description={description} error={error}>
      <input
        id={id}
        className="sf-input"
        type={widget.kind === "text" && widget.secret ? "password" : "text"}
        autoComplete={widget.kind === "text" && widget.secret ? "off" : undefined}
        placeholder={widget.kind === "path" ? "a path inside the workspace, e.g. datasets/my-set" : undefined}
        value={typeof value === "string" ? value : value === null || value === undefined ? "" : String(value)}
        {...aria(id, description, error)}
        onChange={(event) => {
          const text = event.currentTarget.value;
          onChange(text === "" && nullable ? null : text);
        }}
      />
    </Plain>
  );
}

/** `name = value` lines <-> a table; a line that is not `name = value` keeps the text for the server to refuse. */
export function parseTable(text: string): unknown {
  const table: Record<string, unknown> = {};
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const match = /^\s*([A-Za-z0-9_.-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) return text;
    const raw = match[2] as string;
    const number = Number(raw);
    table[match[1] as string] =
      raw === "true" ? true : raw === "false" ? false : raw !== "" && Number.isFinite(number) ? number : raw.replace(/^"(.*)"$/, "$1");
  }
  return table;
}

export function tableText(value: unknown): string {
  if (value === null || value === undefined || typeof value !== "object") return typeof value === "string" ? value : "";
  return Object.entries(value as Record<string, unknown>)
    .map(([key, item]) => `${key} = ${typeof item === "string" ? item : JSON.stringify(item)}`)
    .join("\n");
}

function TableWidget({ id, label, description, error, value, onChange }: WidgetProps) {
  const [text, setText] = useState(tableText(value));
  useEffect(() => {
    setText((current) => (JSON.stringify(parseTable(current)) === JSON.stringify(value ?? {}) ? current : tableText(value)));
  }, [value]);
  return (
    <Plain id={id} label={label} description={description} error={error}>
      <textarea
        id={id}
        className="sf-input sf-textarea"
        rows={Math.max(2, text.split("\n").length)}
        placeholder="one per line: name = value"
        value={text}
        {...aria(id, description, error)}
        onChange={(event) => {
          setText(event.currentTarget.value);
          onChange(parseTable(event.currentTarget.value));
        }}
      />
    </Plain>
  );
}

const EMPTY_ITEM: Record<string, unknown> = { integer: 0, number: 0, boolean: false };

function ListWidget({ widget, id, label, name, description, error, value, nullable, onChange }: WidgetProps) {
  if (widget.kind !== "list") return null;
  const items = Array.isArray(value) ? value : [];
  const fixed = widget.length;
  const empty = EMPTY_ITEM[widget.item.kind] ?? "";
  const set = (index: number, item: unknown) => onChange(items.map((old, i) => (i === index ? item : old)));
  return (
    <Composite id={id} label={label} description={description} error={error}>
      <Stack gap={4} mt={4}>
        {items.map((item, index) => (
          <Group key={index} gap={4} wrap="nowrap" align="flex-end">
            <div style={{ flex: 1 }}>
              <WidgetInput
                widget={widget.item}
                id={`${id}-${index}`}
                label={`${name}, item ${index + 1}`}
                name={`${name}, item ${index + 1}`}
                value={item}
                nullable={false}
                onChange={(next) => set(index, next)}
              />
            </div>
            {fixed === null ? (
              <ActionIcon
                variant="subtle"
                color="gray"
                aria-label={`Remove ${name}, item ${index + 1}`}
                onClick={() => onChange(items.filter((_, i) => i !== index))}
              >
                <IconTrash size={16} aria-hidden="true" />
              </ActionIcon>
            ) : null}
          </Group>
        ))}
        <Group gap="xs">
          {fixed === null ? (
            <Button size="compact-sm" variant="default" leftSection={<IconPlus size={14} aria-hidden="true" />} onClick={() => onChange([...items, empty])}>
              Add to {name}
            </Button>
          ) : items.length === 0 ? (
            <Button size="compact-sm" variant="default" onClick={() => onChange(Array.from({ length: fixed }, () => empty))}>
              Set {name}
            </Button>
          ) : null}
          {nullable && items.length > 0 ? (
            <Button size="compact-sm" variant="subtle" color="gray" onClick={() => onChange(null)}>
              Clear {name}
            </Button>
          ) : null}
        </Group>
      </Stack>
    </Composite>
  );
}

const OPTION_WORDS: Record<Widget["kind"], string> = {
  boolean: "On or off",
  integer: "A whole number",
  number: "A number",
  choice: "A choice",
  text: "Text",
  path: "A file",
  list: "A list",
  table: "A table",
  records: "Entries",
  union: "Either",
};

/** Which option of a union a value is (a list, a number, text...). */
export function optionOf(options: Widget[], value: unknown): number {
  const fits = (widget: Widget) =>
    Array.isArray(value)
      ? widget.kind === "list"
      : typeof value === "number"
        ? widget.kind === "integer" || widget.kind === "number"
        : typeof value === "string"
          ? widget.kind === "text" || widget.kind === "path"
          : false;
  const found = options.findIndex(fits);
  return found < 0 ? 0 : found;
}

function UnionWidget(props: WidgetProps) {
  const { widget, id, label, name, description, error, value, nullable, onChange } = props;
  const options = useMemo(() => (widget.kind === "union" ? widget.options : []), [widget]);
  const [picked, setPicked] = useState(() => optionOf(options, value));
  useEffect(() => {
    if (value !== null && value !== undefined) setPicked(optionOf(options, value));
  }, [value, options]);
  const current = options[picked] ?? options[0];
  if (!current) return null;
  const words = options.map((option) =>
    option.kind === "list" && option.length ? `${option.length} values` : OPTION_WORDS[option.kind],
  );
  return (
    <Composite id={id} label={label} description={description} error={error}>
      <Stack gap={4} mt={4}>
        <SegmentedControl
          size="xs"
          aria-label={`${name}: kind of value`}
          value={String(picked)}
          data={words.map((word, index) => ({ value: String(index), label: word }))}
          onChange={(next) => {
            setPicked(Number(next));
            onChange(nullable ? null : undefined);
          }}
        />
        <WidgetInput {...props} widget={current} id={`${id}-value`} label={`${name} (${words[picked]?.toLowerCase()})`} description={undefined} error={undefined} />
      </Stack>
    </Composite>
  );
}

function RecordEntry({ fields, index, name, path, problems, renderNested, onRemove }: { fields: FieldSpec[]; index: number; name: string; path: string; problems?: FieldProblems; renderNested: WidgetProps["renderNested"]; onRemove: () => void }) {
  // The settings most people change first; the rest one click away, per entry (open anyway while one has a problem).
  const [opened, setMore] = useState(false);
  const main = fields.filter((spec) => spec.help.level === "basic");
  const rest = fields.filter((spec) => spec.help.level !== "basic");
  const entry = `${path}[${index}]`;
  const more = opened || rest.some((spec) => (problems?.[`${entry}.${spec.help.name}`] ?? []).some((p) => p.level !== "warning"));
  const render = (spec: FieldSpec) => (renderNested ? renderNested(spec, `${entry}.${spec.help.name}`) : null);
  return (
    <Fieldset legend={`${name} ${index + 1}`} id={fieldId(entry)}>
      <Stack gap="xs">
        {main.map(render)}
        {rest.length ? (
          <Button
            size="compact-sm"
            variant="subtle"
            w="fit-content"
            aria-expanded={more}
            aria-controls={`${fieldId(entry)}-more`}
            onClick={() => setMore(!more)}
            disabled={more && !opened}
          >
            {more ? "Fewer" : "More"} settings for {name.toLowerCase()} {index + 1} ({rest.length})
          </Button>
        ) : null}
        {more ? (
          <Stack gap="xs" id={`${fieldId(entry)}-more`}>
            {rest.map(render)}
          </Stack>
        ) : null}
        <Group>
          <Button size="compact-sm" variant="subtle" color="gray" leftSection={<IconTrash size={14} aria-hidden="true" />} onClick={onRemove}>
            Remove {name.toLowerCase()} {index + 1}
          </Button>
        </Group>
      </Stack>
    </Fieldset>
  );
}

function RecordsWidget({ widget, id, label, name, description, error, value, onChange, path, problems, renderNested }: WidgetProps) {
  if (widget.kind !== "records") return null;
  const entries = Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
  return (
    <Composite id={id} label={label} description={description} error={error}>
      <Stack gap="sm" mt={4}>
        {entries.map((_, index) => (
          <RecordEntry
            key={index}
            fields={widget.fields}
            index={index}
            name={name}
            path={path ?? ""}
            problems={problems}
            renderNested={renderNested}
            onRemove={() => onChange(entries.filter((_, i) => i !== index))}
          />
        ))}
        {entries.length === 0 ? <Text size="sm" c="dimmed">None yet.</Text> : null}
        <Group>
          <Button size="compact-sm" variant="default" leftSection={<IconPlus size={14} aria-hidden="true" />} onClick={() => onChange([...entries, {}])}>
            Add to {name.toLowerCase()}
          </Button>
        </Group>
      </Stack>
    </Composite>
  );
}

/** The control for any widget. */
export function WidgetInput(props: WidgetProps) {
  switch (props.widget.kind) {
    case "boolean":
      return <BooleanWidget {...props} />;
    case "integer":
    case "number":
      return <NumberWidget {...props} />;
    case "choice":
      return <ChoiceWidget {...props} />;
    case "text":
    case "path":
      return <TextWidget {...props} />;
    case "table":
      return <TableWidget {...props} />;
    case "list":
      return <ListWidget {...props} />;
    case "union":
      return <UnionWidget {...props} />;
    case "records":
      return <RecordsWidget {...props} />;
  }
}
