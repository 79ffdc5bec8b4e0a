// The Training page's arrangement against the real schema: every essential exists, every setting is placed once.
import { buildSections, place } from "@/components/schemaForm";
import { loadRealSchema } from "@/components/schemaForm/realSchema";
import { diffConfigs, keepFolders } from "./diff";
import { TRAINING_LAYOUT } from "./layout";

const sections = buildSections(loadRealSchema());
const all = sections.flatMap((s) => s.fields).map((f) => f.help.path);

describe("the Training page layout", () => {
  it("pins essentials that the schema has (a renamed setting fails here)", () => {
    for (const path of TRAINING_LAYOUT.essentials) expect(all, path).toContain(path);
  });

  it("places every setting of the real schema exactly once", () => {
    const placed = place(sections, TRAINING_LAYOUT);
    const paths = [...placed.essentials, ...placed.groups.flatMap((g) => g.fields)].map((f) => f.help.path);
    expect(paths.length).toBe(all.length);
    expect(new Set(paths)).toEqual(new Set(all));
    expect(placed.groups.map((g) => g.title)).toEqual([
      "Learning", "LoRA structure", "Dataset and captions", "Optimization", "Noise", "Samples", "Saving", "Advanced",
    ]);
    // Expert settings wait in Advanced, whatever their section.
    const learning = placed.groups.find((g) => g.key === "learning");
    expect(learning?.fields.some((f) => f.help.level === "expert")).toBe(false);
  });
});

describe("preset diff", () => {
  it("lists changed, added and removed settings and keeps the user's image folders", () => {
    const current = { network: { dim: 16, alpha: 8 }, dataset: { subsets: [{ image_dir: "datasets/a" }] }, noise: { noise_offset: 0.1 } };
    const preset = keepFolders({ network: { dim: 4, alpha: 8 }, dataset: {}, samples: { sample_at_first: true } }, current);
    expect(preset.dataset).toEqual({ subsets: [{ image_dir: "datasets/a" }] });
    expect(diffConfigs(current, preset)).toEqual([
      { path: "network.dim", from: 16, to: 4 },
      { path: "noise.noise_offset", from: 0.1, to: null },
      { path: "samples.sample_at_first", from: null, to: true },
    ]);
  });
});
