import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { json, route } from "@/test/fetchMock";
import { InspectTool } from "./InspectTool";
import { fill, REPORT, renderTool } from "./testing";

const inspect = route("GET", "/api/lora/inspect", (request) => {
  const path = new URL(request.url).searchParams.get("path");
  if (path === REPORT.path) return json(REPORT);
  return json(
    {
      error: {
        code: "lora",
        message: `${path} is not a LoRA file lorakit can read (no tensors).`,
        fix: "Choose a .safetensors LoRA, or download it again if it is cut short.",
        field: null,
      },
    },
    422,
  );
});

describe("InspectTool", () => {
  it("shows the chosen LoRA: what it is, its training, tags with counts and per-block charts", async () => {
    renderTool(<InspectTool lora={REPORT.path} onLoraChange={() => {}} />, { handlers: [inspect] });
    const what = await screen.findByRole("table", { name: "What it is" });
    expect(within(what).getByRole("row", { name: /Base model/ })).toHaveTextContent("SD 1.x");
    expect(within(what).getByRole("row", { name: /Ranks/ })).toHaveTextContent("4 (1 module), 8 (2 modules)");
    expect(within(what).getByRole("row", { name: /File size/ })).toHaveTextContent("1.2 MB");
    expect(screen.getByRole("table", { name: "How it was trained" })).toHaveTextContent("steps done120");
    expect(screen.getByText("mira", { selector: ".mantine-Badge-label" })).toBeInTheDocument();
    const tags = screen.getByRole("table", { name: "Tags used in training" });
    expect(within(tags).getAllByRole("row").map((r) => r.textContent)).toEqual(["TagCaptions with it", "mira12", "red hair9"]);
    expect(screen.getByRole("img", { name: /Rank per block: 3 blocks; the highest is TE L00 at 8/ })).toBeInTheDocument();
    expect(screen.getByRole("img", { name: /Strength per block: 3 blocks; the highest is MID at 1.200/ })).toBeInTheDocument();
    // The exact numbers for screen readers: one row per block.
    const strengths = screen.getByRole("table", { name: "Strength per block by block" });
    expect(within(strengths).getAllByRole("row").slice(1).map((r) => r.textContent)).toEqual(["TE L000.300", "IN040.500", "MID1.200"]);
  });

  it("gives the server's plain error (problem and fix) for a file that is not a LoRA", async () => {
    renderTool(<InspectTool lora="models/loras/broken.safetensors" onLoraChange={() => {}} />, { handlers: [inspect] });
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("This LoRA cannot be read");
    expect(alert).toHaveTextContent("models/loras/broken.safetensors is not a LoRA file lorakit can read (no tensors).");
    expect(alert).toHaveTextContent("What to do: Choose a .safetensors LoRA, or download it again if it is cut short.");
    expect(alert.textContent).not.toContain("{");
  });

  it("inspects a typed path and makes it the page's choice", async () => {
    const user = userEvent.setup();
    const onLoraChange = vi.fn();
    const { calls } = renderTool(<InspectTool lora="" onLoraChange={onLoraChange} />, { handlers: [inspect] });
    expect(screen.getByRole("button", { name: "Inspect" })).toBeDisabled();
    await fill(user, screen.getByRole("textbox", { name: "LoRA file" }), REPORT.path);
    await user.click(screen.getByRole("button", { name: "Inspect" }));
    expect(onLoraChange).toHaveBeenCalledWith(REPORT.path);
    await screen.findByRole("table", { name: "What it is" });
    await waitFor(() => expect(calls.some((r) => r.url.includes("path=models%2Floras%2Fmira.safetensors"))).toBe(true));
  });
});
