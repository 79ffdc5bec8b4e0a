import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderWithProviders } from "@/test/render";
import type { LibraryEntry, ModelInfo } from "./api";
import { LibraryView } from "./Library";

function info(overrides: Partial<ModelInfo>): ModelInfo {
  return {
    path: "models/x",
    name: "x",
    kind: "checkpoint",
    format: "safetensors",
    family: null,
    variant: null,
    prediction: null,
    prediction_source: null,
    components: [],
    network: null,
    network_source: null,
    rank: null,
    alpha: null,
    ranks: [],
    alphas: [],
    base_source: null,
    precision: null,
    dtypes: {},
    parameters: 0,
    tensors: 0,
    file_size: 0,
    metadata: {},
    safe: true,
    notes: [],
    label: "checkpoint",
    ...overrides,
  };
}

const entries: LibraryEntry[] = [
  {
    folder: "checkpoints",
    path: "models/checkpoints/sd_xl_refiner_1.0.safetensors",
    problem: null,
    info: info({ family: "sdxl", variant: "refiner", precision: "fp16", file_size: 6_075_981_930, prediction: "epsilon", label: "SDXL refiner checkpoint" }),
  },
  {
    folder: "checkpoints",
    path: "models/checkpoints/old.ckpt",
    problem: null,
    info: info({ format: "pickle", kind: "pickle", safe: false, file_size: 4_265_380_512, label: "pickle" }),
  },
  { folder: "checkpoints", path: "models/checkpoints/broken.safetensors", problem: "The file is cut short: download it again.", info: null },
  {
    folder: "loras",
    path: "models/loras/style.safetensors",
    problem: null,
    info: info({ kind: "lora", family: "flux", variant: "dev", rank: 16, alpha: 8, precision: "bf16", file_size: 171_000_000, base_source: "keys (double/single blocks)", label: "Flux.1 dev LoRA" }),
  },
];

describe("LibraryView", () => {
  it("lists every kind, with what detection says in plain words", () => {
    renderWithProviders(<LibraryView entries={entries} />);
    const checkpoints = screen.getByRole("region", { name: /^Checkpoints/ });
    const refiner = within(checkpoints).getByRole("row", { name: /sd_xl_refiner/ });
    expect(refiner).toHaveTextContent("SDXL refiner checkpoint, epsilon prediction");
    expect(refiner).toHaveTextContent("SDXL refiner");
    expect(refiner).toHaveTextContent("fp16");
    expect(refiner).toHaveTextContent("6.1 GB");
    expect(within(checkpoints).getByRole("row", { name: /old\.ckpt/ })).toHaveTextContent("could run code when loaded");
    expect(within(checkpoints).getByRole("row", { name: /broken/ })).toHaveTextContent("The file is cut short: download it again.");

    const lora = within(screen.getByRole("region", { name: /^LoRAs/ })).getByRole("row", { name: /style/ });
    expect(lora).toHaveTextContent("Flux.1 dev LoRA, rank 16, alpha 8");
    expect(lora).toHaveTextContent("For Flux.1");
    expect(lora).toHaveTextContent("from keys (double/single blocks)");
    expect(lora).toHaveTextContent("bf16");
    expect(screen.getByRole("columnheader", { name: "Base model" })).toBeInTheDocument();

    for (const kind of ["VAEs", "Embeddings", "Taggers"]) {
      expect(screen.getByRole("region", { name: new RegExp(`^${kind}`) })).toHaveTextContent(/No .* yet\. Download one from a link above/);
    }
  });
});
