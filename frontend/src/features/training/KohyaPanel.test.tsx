// sd-scripts files: pasted text goes to the server and its config into the form; export downloads both files.
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { vi } from "vitest";
import { json, mockFetch, route } from "@/test/fetchMock";
import { renderWithProviders } from "@/test/render";
import { isDatasetToml, KohyaPanel } from "./KohyaPanel";

describe("KohyaPanel", () => {
  it("imports pasted config.toml and dataset.toml into the form, with the server's notes", async () => {
    const { calls } = mockFetch(
      route("POST", "/api/configs/kohya/parse", () => json({ config: { network: { dim: 12 } }, notes: ["The VAE path was dropped."] })),
    );
    const onImport = vi.fn();
    const user = userEvent.setup();
    renderWithProviders(<KohyaPanel config={{}} onImport={onImport} />);
    await user.click(screen.getByLabelText("config.toml"));
    await user.paste("network_dim = 12");
    await user.click(screen.getByLabelText("dataset.toml (optional)"));
    await user.paste("[general]\nresolution = 512");
    await user.click(screen.getByRole("button", { name: "Import into the form" }));
    await waitFor(() => expect(onImport).toHaveBeenCalledWith({ network: { dim: 12 } }));
    expect(await screen.findByText("The VAE path was dropped.")).toBeInTheDocument();
    expect(await calls[0]?.clone().json()).toEqual({ config_toml: "network_dim = 12", dataset_toml: "[general]\nresolution = 512" });
  });

  it("shows the server's error when the text is not TOML", async () => {
    mockFetch(
      route("POST", "/api/configs/kohya/parse", () =>
        json({ error: { code: "config", message: "config.toml is not valid TOML.", fix: "Fix that line.", field: null } }, 422),
      ),
    );
    const user = userEvent.setup();
    renderWithProviders(<KohyaPanel config={{}} onImport={vi.fn()} />);
    await user.click(screen.getByLabelText("config.toml"));
    await user.paste("= =");
    await user.click(screen.getByRole("button", { name: "Import into the form" }));
    expect(await screen.findByText("config.toml is not valid TOML.")).toBeInTheDocument();
    expect(screen.getByText("Fix that line.")).toBeInTheDocument();
  });

  it("downloads config.toml and dataset.toml", async () => {
    mockFetch(
      route("POST", "/api/configs/kohya", () =>
        json({ files: { "config.toml": "network_dim = 4\n", "dataset.toml": "[general]\n", "lorakit.toml": "" }, script: "train_network.py", notes: [] }),
      ),
    );
    const names: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      names.push(this.download);
    });
    URL.createObjectURL = vi.fn(() => "blob:x");
    URL.revokeObjectURL = vi.fn();
    const user = userEvent.setup();
    renderWithProviders(<KohyaPanel config={{ network: { dim: 4 } }} onImport={vi.fn()} />);
    await user.click(screen.getByRole("button", { name: "Make the sd-scripts files" }));
    await user.click(await screen.findByRole("button", { name: "Download both files" }));
    expect(names).toEqual(["config.toml", "dataset.toml"]);
    click.mockRestore();
  });

  it("tells an uploaded dataset.toml from a config.toml", () => {
    expect(isDatasetToml("my_dataset.toml", "")).toBe(true);
    expect(isDatasetToml("a.toml", "[[datasets]]\nresolution = 512")).toBe(true);
    expect(isDatasetToml("config.toml", "network_dim = 4")).toBe(false);
  });
});
