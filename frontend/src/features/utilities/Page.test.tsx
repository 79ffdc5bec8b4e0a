import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { json, route } from "@/test/fetchMock";
import UtilitiesPage from "./Page";
import { REPORT, renderTool } from "./testing";

const inspect = route("GET", "/api/lora/inspect", () => json(REPORT));

describe("UtilitiesPage", () => {
  it("opens on Inspect with the LoRA named in ?lora=", async () => {
    renderTool(<UtilitiesPage />, { url: "/utilities?lora=models%2Floras%2Fmira.safetensors", handlers: [inspect] });
    expect(screen.getByRole("heading", { level: 1, name: "Utilities" })).toBeInTheDocument();
    expect(screen.getByRole("tab", { name: "Inspect" })).toHaveAttribute("aria-selected", "true");
    expect(await screen.findByRole("table", { name: "What it is" })).toBeInTheDocument();
  });

  it("keeps the chosen LoRA when switching tools, and remembers the tool in the address", async () => {
    const user = userEvent.setup();
    const { router } = renderTool(<UtilitiesPage />, { url: "/utilities?lora=models%2Floras%2Fmira.safetensors", handlers: [inspect] });
    await user.click(screen.getByRole("tab", { name: "Resize" }));
    expect(screen.getByRole("textbox", { name: "LoRA to resize" })).toHaveValue("models/loras/mira.safetensors");
    expect(router.state.location.search).toContain("tool=resize");
    await user.click(screen.getByRole("tab", { name: "Bake" }));
    expect(screen.getByRole("textbox", { name: "LoRA 1" })).toHaveValue("models/loras/mira.safetensors");
  });

  it("the header's Inspect a LoRA opens Inspect and puts the keyboard in its file field", async () => {
    const user = userEvent.setup();
    renderTool(<UtilitiesPage />, { url: "/utilities?tool=merge" });
    await user.click(screen.getByRole("button", { name: "Inspect a LoRA" }));
    expect(screen.getByRole("tab", { name: "Inspect" })).toHaveAttribute("aria-selected", "true");
    await waitFor(() => expect(screen.getByRole("textbox", { name: "LoRA file" })).toHaveFocus());
  });

  it("opens the tool named in ?tool=", () => {
    renderTool(<UtilitiesPage />, { url: "/utilities?tool=extract" });
    expect(screen.getByRole("tab", { name: "Extract" })).toHaveAttribute("aria-selected", "true");
    expect(screen.getByRole("textbox", { name: "Base checkpoint" })).toBeInTheDocument();
  });
});
