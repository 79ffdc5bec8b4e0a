import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { MergeTool } from "./MergeTool";
import { bodyOf, jobHandlers, renderTool, fill } from "./testing";

describe("MergeTool", () => {
  it("needs two LoRAs, then sends each with its weight (exact merge)", async () => {
    const user = userEvent.setup();
    const { calls } = renderTool(<MergeTool lora="models/loras/a.safetensors" />, {
      handlers: jobHandlers("/api/lora/merge", { kind: "merge", title: "Merge 3 LoRAs", state: "completed", result: { output: "models/loras/merged.safetensors", resize: null } }),
    });
    expect(screen.getByText("Choose at least two LoRAs.")).toBeInTheDocument();
    await fill(user, screen.getByRole("textbox", { name: "LoRA 2" }), "models/loras/b.safetensors");
    await user.click(screen.getByRole("button", { name: "Add a LoRA" }));
    await fill(user, screen.getByRole("textbox", { name: "LoRA 3" }), "models/loras/c.safetensors");
    const weight = screen.getByRole("textbox", { name: "Weight 2" });
    await user.clear(weight);
    await user.type(weight, "-0.5");
    await user.click(screen.getByRole("button", { name: "Merge" }));
    expect(await bodyOf(calls, "POST", "/api/lora/merge")).toEqual({
      sources: [
        ["models/loras/a.safetensors", 1],
        ["models/loras/b.safetensors", -0.5],
        ["models/loras/c.safetensors", 1],
      ],
      precision: "fp16",
    });
    expect(await screen.findByText(/Exact merge: every LoRA's change is kept whole/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Show in Files" })).toHaveAttribute("href", "/files/models/loras");
  });

  it("removes a row and compresses with a rank when asked", async () => {
    const user = userEvent.setup();
    const { calls } = renderTool(<MergeTool lora="models/loras/a.safetensors" />, {
      handlers: jobHandlers("/api/lora/merge", { state: "running" }),
    });
    await user.click(screen.getByRole("button", { name: "Add a LoRA" }));
    await fill(user, screen.getByRole("textbox", { name: "LoRA 3" }), "models/loras/c.safetensors");
    await user.click(screen.getByRole("button", { name: "Remove LoRA 2" }));
    await user.click(screen.getByRole("checkbox", { name: /Compress the result/ }));
    await user.click(screen.getByRole("button", { name: "Merge" }));
    expect(await bodyOf(calls, "POST", "/api/lora/merge")).toEqual({
      sources: [
        ["models/loras/a.safetensors", 1],
        ["models/loras/c.safetensors", 1],
      ],
      method: "fixed",
      rank: 16,
      precision: "fp16",
    });
  });
});
