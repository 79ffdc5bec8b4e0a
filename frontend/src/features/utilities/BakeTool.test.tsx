import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { BakeTool } from "./BakeTool";
import { bodyOf, jobHandlers, renderTool, fill } from "./testing";

describe("BakeTool", () => {
  it("sends the checkpoint and the weighted LoRAs; refuses to write over the checkpoint", async () => {
    const user = userEvent.setup();
    const { calls } = renderTool(<BakeTool lora="models/loras/mira.safetensors" />, {
      handlers: jobHandlers("/api/lora/bake", { kind: "bake", title: "Bake", state: "completed", result: { output: "models/checkpoints/base-baked.safetensors" } }),
    });
    expect(screen.getByText("Choose the checkpoint to bake into.")).toBeInTheDocument();
    await fill(user, screen.getByRole("textbox", { name: "Checkpoint" }), "models/checkpoints/base.safetensors");
    await fill(user, screen.getByRole("textbox", { name: "Save as" }), "models/checkpoints/base.safetensors");
    expect(screen.getByText("Save the baked model as a new file, not over the checkpoint.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Bake" })).toBeDisabled();
    await user.clear(screen.getByRole("textbox", { name: "Save as" }));
    const weight = screen.getByRole("textbox", { name: "Weight 1" });
    await user.clear(weight);
    await user.type(weight, "0.8");
    await user.click(screen.getByRole("textbox", { name: "Precision" }));
    await user.click(screen.getByRole("option", { name: /fp32/ }));
    await user.click(screen.getByRole("button", { name: "Bake" }));
    expect(await bodyOf(calls, "POST", "/api/lora/bake")).toEqual({
      checkpoint: "models/checkpoints/base.safetensors",
      loras: [["models/loras/mira.safetensors", 0.8]],
      precision: "fp32",
    });
    expect(await screen.findByRole("link", { name: "Show in Files" })).toHaveAttribute("href", "/files/models/checkpoints");
    expect(screen.queryByRole("link", { name: "Inspect it" })).toBeNull();
  });
});
