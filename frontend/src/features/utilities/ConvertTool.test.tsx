import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ConvertTool } from "./ConvertTool";
import { bodyOf, jobHandlers, renderTool } from "./testing";

describe("ConvertTool", () => {
  it("explains each layout and sends the chosen one", async () => {
    const user = userEvent.setup();
    const { calls } = renderTool(<ConvertTool lora="models/loras/mira.safetensors" />, {
      handlers: jobHandlers("/api/lora/convert", { kind: "convert", title: "Convert", state: "completed", result: { output: "models/loras/mira-peft" } }),
    });
    expect(screen.getByText(/load_lora_weights reads directly/)).toBeInTheDocument();
    await user.click(screen.getByRole("textbox", { name: "Layout to write" }));
    await user.click(screen.getByRole("option", { name: "peft" }));
    expect(screen.getByText(/A peft adapter folder/)).toBeInTheDocument();
    expect(screen.getByRole("textbox", { name: "Save as" })).toHaveAttribute("placeholder", "models/loras/mira-peft.safetensors (a folder)");
    await user.click(screen.getByRole("textbox", { name: "Model family" }));
    await user.click(screen.getByRole("option", { name: "SDXL" }));
    await user.click(screen.getByRole("button", { name: "Convert" }));
    expect(await bodyOf(calls, "POST", "/api/lora/convert")).toEqual({
      source: "models/loras/mira.safetensors",
      layout: "peft",
      arch: "sdxl",
    });
    expect(await screen.findByText("models/loras/mira-peft")).toBeInTheDocument();
    // A peft folder is not inspected from here; its folder is in Files.
    expect(screen.queryByRole("link", { name: "Inspect it" })).toBeNull();
    expect(screen.getByRole("link", { name: "Show in Files" })).toHaveAttribute("href", "/files/models/loras");
  });

  it("cannot start without a LoRA", () => {
    renderTool(<ConvertTool lora="" />);
    expect(screen.getByRole("button", { name: "Convert" })).toBeDisabled();
    expect(screen.getByText("Choose the LoRA to convert.")).toBeInTheDocument();
  });
});
