import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ExtractTool } from "./ExtractTool";
import { bodyOf, jobHandlers, renderTool, fill } from "./testing";

describe("ExtractTool", () => {
  it("needs two different checkpoints, then sends the options", async () => {
    const user = userEvent.setup();
    const result = {
      output: "models/loras/tuned-extracted.safetensors",
      lora_unet_a: { rank: 8, retained_fro: 0.8 },
      lora_unet_b: { rank: 8, retained_fro: 0.9 },
    };
    const { calls } = renderTool(<ExtractTool />, {
      handlers: jobHandlers("/api/lora/extract", { kind: "extract", title: "Extract", state: "completed", result }),
    });
    expect(screen.getByText("Choose the base checkpoint.")).toBeInTheDocument();
    await fill(user, screen.getByRole("textbox", { name: "Base checkpoint" }), "models/checkpoints/base.safetensors");
    await fill(user, screen.getByRole("textbox", { name: "Fine-tuned checkpoint" }), "models/checkpoints/base.safetensors");
    expect(screen.getByText("The two checkpoints must differ.")).toBeInTheDocument();
    await user.clear(screen.getByRole("textbox", { name: "Fine-tuned checkpoint" }));
    await fill(user, screen.getByRole("textbox", { name: "Fine-tuned checkpoint" }), "models/checkpoints/tuned.safetensors");
    await user.type(screen.getByRole("textbox", { name: "3×3 conv rank (LoCon)" }), "4");
    await user.click(screen.getByRole("checkbox", { name: "Include the text encoder" }));
    await user.click(screen.getByRole("button", { name: "Extract" }));
    expect(await bodyOf(calls, "POST", "/api/lora/extract")).toEqual({
      base: "models/checkpoints/base.safetensors",
      tuned: "models/checkpoints/tuned.safetensors",
      method: "fixed",
      rank: 32,
      conv_rank: 4,
      clamp_quantile: 0.99,
      text_encoder: false,
      precision: "fp16",
    });
    expect(await screen.findByText("2 layers; on average 85.0 % of each layer's change was kept.")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Show in Files" })).toHaveAttribute("href", "/files/models/loras");
  });
});
