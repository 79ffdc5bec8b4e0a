import { act, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { json, route } from "@/test/fetchMock";
import { ResizeResult, ResizeTool } from "./ResizeTool";
import { bodyOf, job, jobHandlers, renderTool, fill } from "./testing";
import type { ResizeReport } from "./types";

const RESULT: ResizeReport = {
  output: "models/loras/mira-r4.safetensors",
  method: "sv_fro",
  value: 0.9,
  max_rank: null,
  mean_rank: 3.5,
  mean_retained_fro: 0.934,
  min_retained_fro: 0.9012,
  modules: [
    { name: "lora_unet_a", old_rank: 8, new_rank: 3, retained_fro: 0.9012, note: "" },
    { name: "lora_unet_b", old_rank: 8, new_rank: 4, retained_fro: 0.9668, note: "" },
  ],
};

describe("ResizeTool", () => {
  it("says why it cannot start, then sends a fixed rank", async () => {
    const user = userEvent.setup();
    const { calls } = renderTool(<ResizeTool lora="" />, {
      handlers: jobHandlers("/api/lora/resize", { state: "completed", result: { ...RESULT } }),
    });
    expect(screen.getByRole("button", { name: "Resize" })).toBeDisabled();
    expect(screen.getByText("Choose the LoRA to resize.")).toBeInTheDocument();
    await fill(user, screen.getByRole("textbox", { name: "LoRA to resize" }), "models/loras/mira.safetensors");
    const rank = screen.getByRole("textbox", { name: "Rank" });
    await user.clear(rank);
    await user.type(rank, "4");
    await user.click(screen.getByRole("button", { name: "Resize" }));
    expect(await bodyOf(calls, "POST", "/api/lora/resize")).toEqual({
      source: "models/loras/mira.safetensors",
      method: "fixed",
      rank: 4,
    });
    // The result: the written file with a link to its folder in Files, and the energy report.
    const link = await screen.findByRole("link", { name: "Show in Files" });
    expect(link).toHaveAttribute("href", "/files/models/loras");
    expect(screen.getByRole("link", { name: "Inspect it" })).toHaveAttribute(
      "href",
      "/utilities?lora=models%2Floras%2Fmira-r4.safetensors",
    );
    expect(screen.getByRole("table", { name: "Energy report" })).toHaveTextContent("Change kept, lowest layer90.1 %");
  });

  it("sends a dynamic method with its value and the output name", async () => {
    const user = userEvent.setup();
    const { calls } = renderTool(<ResizeTool lora="models/loras/mira.safetensors" />, {
      handlers: jobHandlers("/api/lora/resize", { state: "running" }),
    });
    await user.click(screen.getByRole("textbox", { name: "How to choose the rank" }));
    await user.click(screen.getByRole("option", { name: /Keep a share of the change/ }));
    expect(screen.getByRole("textbox", { name: "Share to keep (0-1)" })).toHaveValue("0.9");
    await user.clear(screen.getByRole("textbox", { name: "Highest rank a layer may keep" }));
    await fill(user, screen.getByRole("textbox", { name: "Save as" }), "models/loras/small.safetensors");
    await user.click(screen.getByRole("button", { name: "Resize" }));
    expect(await bodyOf(calls, "POST", "/api/lora/resize")).toEqual({
      source: "models/loras/mira.safetensors",
      method: "sv_fro",
      value: 0.9,
      output: "models/loras/small.safetensors",
    });
  });

  it("shows live progress from the job's events, and Cancel", async () => {
    const user = userEvent.setup();
    const { sockets } = renderTool(<ResizeTool lora="models/loras/mira.safetensors" />, {
      handlers: [
        ...jobHandlers("/api/lora/resize", { state: "running" }),
        route("POST", "/api/jobs/j1/cancel", () => json(job({ state: "cancelled" }))),
      ],
    });
    act(() => sockets.last().open());
    await user.click(screen.getByRole("button", { name: "Resize" }));
    const panel = await screen.findByRole("region", { name: /Resize models\/loras\/mira.safetensors: Running/ });
    act(() =>
      sockets.last().deliver({ type: "event", job_id: "j1", event: { seq: 1, type: "progress", time: 1, data: { done: 30, total: 90, unit: "module" } } }),
    );
    expect(await within(panel).findByText("— 30 / 90 modules")).toBeInTheDocument();
    expect(within(panel).getByRole("button", { name: "Cancel" })).toBeEnabled();
  });

  it("shows the server's refusal with its fix", async () => {
    const user = userEvent.setup();
    renderTool(<ResizeTool lora="models/loras/gone.safetensors" />, {
      handlers: [
        route("POST", "/api/lora/resize", () =>
          json({ error: { code: "not_found", message: "Nothing is at 'models/loras/gone.safetensors' in the workspace.", fix: "Check the name.", field: "source" } }, 404),
        ),
      ],
    });
    await user.click(screen.getByRole("button", { name: "Resize" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Resize did not start");
    expect(alert).toHaveTextContent("Nothing is at 'models/loras/gone.safetensors' in the workspace.");
    expect(alert).toHaveTextContent("What to do: Check the name.");
  });

  it("a failed job shows its plain error", async () => {
    const user = userEvent.setup();
    renderTool(<ResizeTool lora="models/loras/mira.safetensors" />, {
      handlers: jobHandlers("/api/lora/resize", {
        state: "failed",
        error: { code: "lora", message: "mira.safetensors holds LoKr modules, which resize cannot shrink.", fix: "Resize a plain LoRA or LoCon." },
      }),
    });
    await user.click(screen.getByRole("button", { name: "Resize" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("failed");
    expect(alert).toHaveTextContent("What to do: Resize a plain LoRA or LoCon.");
  });
});

describe("ResizeResult", () => {
  it("lists the layers that kept the least first", () => {
    renderTool(<ResizeResult report={RESULT} />);
    const rows = within(screen.getByRole("table", { name: "Layers that kept the least" })).getAllByRole("row");
    expect(rows.slice(1).map((r) => r.textContent)).toEqual(["lora_unet_a8390.1 %", "lora_unet_b8496.7 %"]);
    expect(screen.getByRole("table", { name: "Energy report" })).toHaveTextContent("Average rank now3.5");
  });
});
