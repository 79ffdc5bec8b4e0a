// The form's behaviour per kind of setting, on a small schema shaped like the server's.
import { fireEvent, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { renderWithProviders } from "@/test/render";
import { buildSections, fieldId, setIn } from "./model";
import { SchemaForm } from "./SchemaForm";
import type { ConfigValue, FieldHelp, FieldProblems, FormSchema, JsonSchema } from "./types";

function help(path: string, extra: Partial<FieldHelp> = {}): FieldHelp {
  const parts = path.split(".");
  const section = parts.length > 1 ? (parts[0] as string) : "";
  const name = parts.at(-1) as string;
  return {
    path, section, name, help: `Help for ${name}.`, level: "basic", effect: "trainer", type: "", default: null, unit: null,
    minimum: null, maximum: null, recommended: null, choices: null, kohya: name, kohya_note: null, lorakit_only: false,
    secret: false, ...extra,
  };
}

const nullable = (node: JsonSchema): JsonSchema => ({ anyOf: [node, { type: "null" }], default: null });

const properties: Record<string, JsonSchema> = {
  dim: { type: "integer", minimum: 1, maximum: 1024, default: 16 },
  rate: { type: "number", exclusiveMinimum: 0, maximum: 10, default: 0.0001 },
  offset: nullable({ type: "number", minimum: 0, maximum: 1 }),
  cache: { type: "boolean", default: true },
  vpred: nullable({ type: "boolean" }),
  kind: { type: "string", enum: ["lora", "locon"], default: "lora" },
  tokens: { type: "integer", enum: [75, 150], default: 75 },
  name: { type: "string", default: "lora" },
  folder: nullable({ type: "string", format: "path" }),
  words: { type: "array", items: { type: "string" } },
  betas: nullable({ type: "array", prefixItems: [{ type: "number" }, { type: "number" }], minItems: 2, maxItems: 2 }),
  args: { type: "object", additionalProperties: true },
  resolution: { anyOf: [{ type: "integer" }, { type: "array", prefixItems: [{ type: "integer" }, { type: "integer" }] }], default: 512 },
  subsets: { type: "array", items: { $ref: "#/$defs/Subset" } },
  token: nullable({ type: "string" }),
};

const schema: FormSchema = {
  sections: [
    {
      name: "network",
      title: "Network",
      description: "The adapter.",
      fields: Object.keys(properties).map((name) =>
        help(`network.${name}`, {
          default: (properties[name] as JsonSchema).default ?? null,
          ...(name === "dim" ? { minimum: 1, maximum: 1024, recommended: 16, unit: "rank" } : {}),
          ...(name === "token" ? { secret: true } : {}),
        }),
      ),
    },
  ],
  subset_fields: [help("network.subsets[].image_dir"), help("network.subsets[].num_repeats", { default: 1, level: "advanced" })],
  json_schema: {
    properties: { network: { $ref: "#/$defs/Network" } },
    $defs: {
      Network: { properties },
      Subset: { type: "object", properties: { image_dir: { type: "string", format: "path" }, num_repeats: { type: "integer", default: 1 } } },
    },
  },
};
const sections = buildSections(schema);

function Harness({ initial = {}, problems, onValue }: { initial?: ConfigValue; problems?: FieldProblems; onValue?: (v: ConfigValue) => void }) {
  const [value, setValue] = useState(initial);
  return (
    <SchemaForm
      sections={sections}
      value={value}
      problems={problems}
      layout={{ essentials: ["network.dim"], groups: [{ key: "all", title: "Everything else", sections: ["network"] }] }}
      onChange={(path, next) =>
        setValue((current) => {
          const updated = setIn(current, path, next);
          onValue?.(updated);
          return updated;
        })
      }
    />
  );
}

const control = (path: string) => document.getElementById(fieldId(path)) as HTMLElement;

function setup(props: Parameters<typeof Harness>[0] = {}) {
  let last: ConfigValue = props.initial ?? {};
  const user = userEvent.setup();
  renderWithProviders(<Harness {...props} onValue={(v) => (last = v)} />);
  return { user, value: () => last };
}

describe("SchemaForm", { timeout: 30_000 }, () => {
  it("shows the essentials and keeps the other sections closed until asked", async () => {
    const { user } = setup();
    expect(control("network.dim")).toBeInTheDocument();
    expect(control("network.rate")).toBeNull();
    const toggle = screen.getByRole("button", { name: /Everything else/ });
    expect(toggle).toHaveAttribute("aria-expanded", "false");
    await user.click(toggle);
    expect(toggle).toHaveAttribute("aria-expanded", "true");
    expect(control("network.rate")).toBeInTheDocument();
  });

  it("shows help, the allowed range, the recommended value and resets to it", async () => {
    const { user, value } = setup({ initial: { network: { dim: 64 } } });
    expect(screen.getByText(/Help for dim\. Allowed: 1 to 1024 rank\./)).toBeInTheDocument();
    expect(screen.getByText("Recommended: 16")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Reset Dim to recommended (16)" }));
    expect(value()).toEqual({ network: { dim: 16 } });
    expect(control("network.dim")).toHaveValue("16");
    expect(screen.queryByRole("button", { name: /Reset Dim/ })).toBeNull();
  });

  it("turns typed numbers into numbers and keeps what is not one as text for the server to refuse", async () => {
    const { user, value } = setup();
    await user.clear(control("network.dim"));
    await user.type(control("network.dim"), "32");
    expect(value()).toEqual({ network: { dim: 32 } });
    await user.type(control("network.dim"), ".5");
    expect(value()).toEqual({ network: { dim: "32.5" } }); // not a whole number
    await user.click(screen.getByRole("button", { name: /Everything else/ }));
    await user.clear(control("network.offset"));
    await user.type(control("network.offset"), "0.05");
    expect((value().network as ConfigValue).offset).toBe(0.05);
    await user.clear(control("network.offset"));
    expect((value().network as ConfigValue).offset).toBeUndefined(); // empty is "not set"
  });

  it("edits switches, choices, nullable yes/no, text, paths and secrets", async () => {
    const { user, value } = setup();
    await user.click(screen.getByRole("button", { name: /Everything else/ }));
    await user.click(control("network.cache"));
    expect((value().network as ConfigValue).cache).toBe(false);
    await user.selectOptions(control("network.kind"), "locon");
    await user.selectOptions(control("network.tokens"), "150");
    await user.selectOptions(control("network.vpred"), "On");
    await user.type(control("network.folder"), "datasets/cats");
    await user.clear(control("network.name"));
    await user.type(control("network.name"), "mine");
    expect(control("network.token")).toHaveAttribute("type", "password");
    expect(value().network).toMatchObject({ kind: "locon", tokens: 150, vpred: true, folder: "datasets/cats", name: "mine" });
    await user.selectOptions(control("network.vpred"), "Not set (automatic)");
    expect((value().network as ConfigValue).vpred).toBeUndefined();
  });

  it("adds to and removes from lists, and sets fixed-length lists", async () => {
    const { user, value } = setup();
    await user.click(screen.getByRole("button", { name: /Everything else/ }));
    await user.click(screen.getByRole("button", { name: "Add to Words" }));
    await user.type(screen.getByLabelText("Words, item 1"), "kitbot");
    await user.click(screen.getByRole("button", { name: "Add to Words" }));
    await user.type(screen.getByLabelText("Words, item 2"), "robot");
    expect((value().network as ConfigValue).words).toEqual(["kitbot", "robot"]);
    await user.click(screen.getByRole("button", { name: "Remove Words, item 1" }));
    expect((value().network as ConfigValue).words).toEqual(["robot"]);
    await user.click(screen.getByRole("button", { name: "Set Betas" }));
    await user.clear(screen.getByLabelText("Betas, item 2"));
    await user.type(screen.getByLabelText("Betas, item 2"), "0.99");
    expect((value().network as ConfigValue).betas).toEqual([0, 0.99]);
    await user.click(screen.getByRole("button", { name: "Clear Betas" }));
    expect((value().network as ConfigValue).betas).toBeUndefined();
  });

  it("reads tables as name = value lines and switches either-or values", async () => {
    const { user, value } = setup();
    await user.click(screen.getByRole("button", { name: /Everything else/ }));
    fireEvent.change(control("network.args"), { target: { value: "decouple = true\nd0 = 0.001\nmode = fast" } });
    expect((value().network as ConfigValue).args).toEqual({ decouple: true, d0: 0.001, mode: "fast" });
    const resolution = within(control("network.resolution"));
    expect(resolution.getByLabelText("Resolution (a whole number)")).toHaveValue("512");
    await user.click(resolution.getByText("2 values"));
    await user.click(resolution.getByRole("button", { name: "Set Resolution" }));
    expect((value().network as ConfigValue).resolution).toEqual([0, 0]);
  });

  it("adds entries of a list of tables, each with its own settings", async () => {
    const { user, value } = setup();
    await user.click(screen.getByRole("button", { name: /Everything else/ }));
    await user.click(screen.getByRole("button", { name: "Add to subsets" }));
    await user.type(control("network.subsets[0].image_dir"), "datasets/a");
    expect((value().network as ConfigValue).subsets).toEqual([{ image_dir: "datasets/a" }]);
    expect(control("network.subsets[0].num_repeats")).toBeNull(); // not a basic setting: one click away
    await user.click(screen.getByRole("button", { name: "More settings for subsets 1 (1)" }));
    expect(control("network.subsets[0].num_repeats")).toHaveValue("1");
  });

  it("puts each problem at its setting with its fix, and counts them on a closed section", async () => {
    const problems: FieldProblems = {
      "network.subsets[0].num_repeats": [{ message: "Too few repeats.", fix: "Use 1 or more." }],
      "network.dim": [{ message: "network.dim = 0: is too small.", fix: "Use 1 or more." }],
      "network.rate": [{ message: "Too fast.", fix: "Halve it." }],
      "network.subsets[0].image_dir": [{ message: "No such folder.", fix: "Check the path." }],
      "network.kind": [{ message: "Unusual.", fix: "Most people keep lora.", level: "warning" }],
    };
    const { user } = setup({ initial: { network: { subsets: [{}] } }, problems });
    expect(control("network.dim")).toHaveAccessibleDescription(/is too small\. What to do: Use 1 or more\./);
    expect(control("network.dim")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByText("3 problems")).toBeInTheDocument(); // rate + two in the folder entry; the warning is not one
    await user.click(screen.getByRole("button", { name: /Everything else/ }));
    expect(control("network.subsets[0].image_dir")).toHaveAccessibleDescription(/No such folder\. What to do: Check the path\./);
    expect(screen.getByText(/Most people keep lora\./)).toBeInTheDocument();
    expect(control("network.kind")).not.toHaveAttribute("aria-invalid", "true");
    // An entry's less common setting with a problem is shown without asking.
    expect(control("network.subsets[0].num_repeats")).toHaveAccessibleDescription(/Too few repeats\./);
  });
});
