// The Training page against a fake server: checking as you type, problems at fields, Start's reason, presets with
// their diff, saving a preset, the TOML view, and starting a run that lands on its monitor.
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { FormSchema } from "@/components/schemaForm";
import { json, mockFetch, route } from "@/test/fetchMock";
import { renderWithProviders } from "@/test/render";
import TrainingPage from "./Page";

const field = (path: string, extra: Record<string, unknown> = {}) => {
  const [section, name] = path.split(".") as [string, string];
  return {
    path, section, name, help: `What ${name} does.`, level: "basic", effect: "trainer", type: "", default: null, unit: null,
    minimum: null, maximum: null, recommended: null, choices: null, kohya: name, kohya_note: null, lorakit_only: false,
    secret: false, ...extra,
  };
};

const schema: FormSchema = {
  sections: [
    { name: "model", title: "Model", description: "", fields: [field("model.pretrained_model_name_or_path")] as FormSchema["sections"][0]["fields"] },
    { name: "network", title: "Network", description: "", fields: [field("network.dim", { default: 16, minimum: 1, maximum: 1024, recommended: 16 }), field("network.alpha", { default: 8 })] as FormSchema["sections"][0]["fields"] },
    { name: "noise", title: "Noise", description: "", fields: [field("noise.noise_offset")] as FormSchema["sections"][0]["fields"] },
  ],
  subset_fields: [],
  json_schema: {
    properties: { model: { $ref: "#/$defs/M" }, network: { $ref: "#/$defs/N" }, noise: { $ref: "#/$defs/O" } },
    $defs: {
      M: { properties: { pretrained_model_name_or_path: { anyOf: [{ type: "string" }, { type: "null" }], default: null } } },
      N: { properties: { dim: { type: "integer", default: 16 }, alpha: { type: "number", default: 8 } } },
      O: { properties: { noise_offset: { anyOf: [{ type: "number" }, { type: "null" }], default: null } } },
    },
  },
};

const DEFAULTS = { config_version: 1, model: { pretrained_model_name_or_path: "tiny:sd1" }, network: { dim: 16, alpha: 8 } };
const TINY = { config_version: 1, model: { pretrained_model_name_or_path: "tiny:sd1" }, network: { dim: 4, alpha: 4 } };

type Config = { network: { dim: unknown; alpha?: unknown } };

function server() {
  return mockFetch(
    route("GET", "/api/configs/schema", () => json(schema)),
    route("GET", "/api/configs/presets", () =>
      json([{ name: "tiny-demo", title: "Tiny demo", for_whom: "Trying lorakit out.", what: "Seconds on a CPU.", family: "sd1", builtin: true }]),
    ),
    route("GET", "/api/configs", () => json([])),
    (request) => {
      if (request.method !== "POST" || new URL(request.url).pathname !== "/api/configs/new") return undefined;
      return request.clone().json().then((body: { preset: string | null }) => json({ config: body.preset === "tiny-demo" ? TINY : DEFAULTS }));
    },
    (request) => {
      if (new URL(request.url).pathname !== "/api/configs/validate") return undefined;
      return request.clone().json().then(({ config }: { config: Config }) =>
        typeof config.network.dim === "number" && config.network.dim >= 1
          ? json({ ok: true, problems: [], warnings: [] })
          : json({ error: { code: "config", message: "The config has 1 problem", fix: "Fix it.", field: null, issues: [{ message: `network.dim = ${String(config.network.dim)}: is too small (the smallest allowed is 1).`, fix: "Use 1 or more.", field: "network.dim" }] } }, 422),
      );
    },
    route("POST", "/api/plans", () => json({})),
    (request) => {
      if (new URL(request.url).pathname !== "/api/configs/toml") return undefined;
      return request.clone().json().then(({ config }: { config: Config }) => json({ toml: `config_version = 1\n\n[network]\ndim = ${String(config.network.dim)}\nalpha = ${String(config.network.alpha)}\n` }));
    },
    (request) => {
      if (new URL(request.url).pathname !== "/api/configs/from-toml") return undefined;
      return request.clone().json().then(({ toml }: { toml: string }) => {
        const dim = Number(/dim = (\d+)/.exec(toml)?.[1]);
        return json({ config: { ...DEFAULTS, network: { dim, alpha: 8 } } });
      });
    },
    route("POST", "/api/configs/presets", () => json({ name: "mine", title: "mine", for_whom: "", what: "", family: "sd1", builtin: false })),
    route("POST", "/api/jobs", () => json({ id: "job123", kind: "train", state: "queued", created_at: 1, params: {} }, 201)),
  );
}

const rank = () => screen.getByLabelText(/network\.dim/);

describe("Training page", { timeout: 30_000 }, () => {
  beforeEach(() => window.localStorage.clear());

  it("checks as you type: the problem at its field with its fix, and Start says why it cannot start", async () => {
    server();
    const user = userEvent.setup();
    renderWithProviders(<TrainingPage />, { route: "/training" });
    expect(await screen.findByText("Ready to start", {}, { timeout: 3000 })).toBeInTheDocument();
    const start = screen.getByRole("button", { name: "Start training" });
    expect(start).toHaveAttribute("aria-disabled", "false");

    await user.clear(rank());
    await user.type(rank(), "0");
    expect(start).toHaveAttribute("aria-disabled", "true"); // at once: the change is not checked yet
    expect(await screen.findByText(/Fix the problem listed beside the form first/, {}, { timeout: 3000 })).toBeInTheDocument();
    await waitFor(() => expect(rank()).toHaveAttribute("aria-invalid", "true"));
    expect(rank()).toHaveAccessibleDescription(/is too small .* What to do: Use 1 or more\./);
    const list = screen.getByRole("list", { name: "Problems to fix before starting" });
    expect(list).toHaveTextContent("network.dim = 0: is too small");
    // Pressing Start while it cannot start goes to the problem.
    await user.click(start);
    await waitFor(() => expect(rank()).toHaveFocus());

    await user.clear(rank());
    await user.type(rank(), "8");
    expect(await screen.findByText("Ready to start", {}, { timeout: 3000 })).toBeInTheDocument();
    expect(rank()).not.toHaveAttribute("aria-invalid", "true");
  });

  it("shows what a preset changes before using it, and saves the settings as a new preset", async () => {
    const { calls } = server();
    const user = userEvent.setup();
    renderWithProviders(<TrainingPage />, { route: "/training" });
    await screen.findByText("Ready to start", {}, { timeout: 3000 });
    await user.selectOptions(screen.getByLabelText("Start from a preset"), "tiny-demo");
    const changes = await screen.findByRole("list", { name: "What the preset changes" });
    expect(within(changes).getAllByRole("listitem").map((item) => item.textContent)).toEqual([
      "Alpha network.alpha: 8 → 4",
      "Dim network.dim: 16 → 4",
    ]);
    expect(rank()).toHaveValue("16"); // nothing replaced yet
    await user.click(screen.getByRole("button", { name: "Use this preset" }));
    expect(rank()).toHaveValue("4");

    await user.type(screen.getByLabelText("Save as a new preset"), "mine");
    await user.click(screen.getByRole("button", { name: "Save preset" }));
    expect(await screen.findByText(/Saved as the preset “mine”/)).toBeInTheDocument();
    const saved = calls.find((c) => c.method === "POST" && c.url.endsWith("/api/configs/presets"));
    expect(await saved?.clone().json()).toMatchObject({ name: "mine", config: { network: { dim: 4, alpha: 4 } } });
  });

  it("shows the settings as TOML and takes edited TOML back into the form", async () => {
    server();
    const user = userEvent.setup();
    renderWithProviders(<TrainingPage />, { route: "/training" });
    await screen.findByText("Ready to start", {}, { timeout: 3000 });
    await user.click(screen.getByRole("tab", { name: "TOML" }));
    const toml = await screen.findByLabelText("Config as TOML");
    await waitFor(() => expect(toml).toHaveValue("config_version = 1\n\n[network]\ndim = 16\nalpha = 8\n"));
    await user.clear(toml);
    await user.click(toml);
    await user.paste("[network]\ndim = 32\n");
    await user.click(screen.getByRole("button", { name: "Apply to the form" }));
    await waitFor(() => expect((screen.getByLabelText("Config as TOML") as HTMLTextAreaElement).value).toContain("dim = 32"), { timeout: 3000 });
    await user.click(screen.getByRole("tab", { name: "Form" }));
    expect(rank()).toHaveValue("32");
  });

  it("starts a training job with the settings and opens its run monitor", async () => {
    const { calls } = server();
    const user = userEvent.setup();
    const { router } = renderWithProviders(<TrainingPage />, { route: "/training" });
    await screen.findByText("Ready to start", {}, { timeout: 3000 });
    await user.click(screen.getByRole("button", { name: "Start training" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/runs/job123"));
    const job = calls.find((c) => c.method === "POST" && c.url.endsWith("/api/jobs"));
    expect(await job?.clone().json()).toMatchObject({ kind: "train", params: { config: DEFAULTS } });
  });
});
