// Every setting the server describes can be reached in the form: generated from the real schema (Python dumps it).
import { fireEvent, screen } from "@testing-library/react";
import { useState } from "react";
import { renderWithProviders } from "@/test/render";
import { buildSections, fieldId, setIn } from "./model";
import { loadRealSchema } from "./realSchema";
import { SchemaForm, sectionLayout } from "./SchemaForm";
import type { ConfigValue, FormSection, Widget } from "./types";

const schema = loadRealSchema();
const sections = buildSections(schema);

function Harness({ sections, initial }: { sections: FormSection[]; initial: ConfigValue }) {
  const [value, setValue] = useState(initial);
  return <SchemaForm sections={sections} value={value} onChange={(path, next) => setValue((c) => setIn(c, path, next))} />;
}

/** A control a person can operate, with a name: an input/select/textarea with a non-empty <label for>, or a
 * labelled group with something to operate. (`labels` maps each label's `for` to its text: jsdom's
 * `element.labels` scans the whole document on every call.) */
function expectLabelledControl(path: string, labels: Map<string, string>) {
  const element = document.getElementById(fieldId(path));
  if (!element) throw new Error(`The setting ${path} has no control in the form.`);
  if (element instanceof HTMLInputElement || element instanceof HTMLSelectElement || element instanceof HTMLTextAreaElement) {
    expect(labels.get(element.id), `${path} has no label`).toBeTruthy();
  } else {
    const labelledBy = element.getAttribute("aria-labelledby") ?? "";
    expect(document.getElementById(labelledBy)?.textContent, `${path} has no label`).toBeTruthy();
    expect(element.querySelector("input, select, textarea, button"), `${path} has nothing to operate`).not.toBeNull();
  }
}

const labelTexts = () =>
  new Map([...document.querySelectorAll("label[for]")].map((label) => [label.getAttribute("for") ?? "", label.textContent ?? ""]));

describe("the real schema", () => {
  const all = sections.flatMap((s) => s.fields);

  it("has the settings the form is built from", () => {
    // The schema carries well over a hundred settings; a dump that came back empty must not pass.
    expect(all.length).toBeGreaterThan(150);
    expect(schema.subset_fields.length).toBeGreaterThan(10);
  });

  it("uses widget kinds the form renders, every one of them", () => {
    const kinds = new Set<string>();
    const visit = (w: Widget) => {
      kinds.add(w.kind);
      if (w.kind === "list") visit(w.item);
      if (w.kind === "union") w.options.forEach(visit);
      if (w.kind === "records") w.fields.forEach((f) => visit(f.widget));
    };
    all.forEach((f) => visit(f.widget));
    expect([...kinds].sort()).toEqual(["boolean", "choice", "integer", "list", "number", "path", "records", "table", "text", "union"]);
  });

  it("reaches every setting, and every setting of a dataset folder entry, once the sections are open", () => {
    const initial = setIn({}, "dataset.subsets", [{ image_dir: "datasets/x" }]);
    renderWithProviders(<Harness sections={sections} initial={initial} />);
    fireEvent.click(screen.getByRole("button", { name: "Open all sections" }));
    fireEvent.click(screen.getByRole("button", { name: /^More settings for subsets 1/ }));
    const labels = labelTexts();
    for (const field of all) expectLabelledControl(field.help.path, labels);
    for (const help of schema.subset_fields) expectLabelledControl(help.path.replace("[]", "[0]"), labels);
    // The check itself fails on a setting the form does not show.
    expect(() => expectLabelledControl("network.not_a_setting", labels)).toThrow(/has no control/);
    // Each setting shows its plain-words help.
    for (const field of all) {
      const row = document.querySelector(`[data-setting="${field.help.path}"]`);
      expect(row?.textContent, field.help.path).toContain(field.help.help.slice(0, 40));
    }
  }, 240_000);

  it("places every setting in exactly one group of the default layout", () => {
    const layout = sectionLayout(sections);
    expect(layout.groups.flatMap((g) => g.sections).sort()).toEqual(sections.map((s) => s.name).sort());
  });
});
