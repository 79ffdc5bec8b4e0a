import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { json, route } from "@/test/fetchMock";
import { bodyOf, jobHandlers, renderTool, fill } from "./testing";
import { UploadTool } from "./UploadTool";

const credentials = (set: boolean) =>
  route("GET", "/api/settings/credentials", () =>
    json([{ service: "huggingface", set, masked: set ? "hf_…1234" : null, source: set ? "settings file" : null }]),
  );
const CARD = '---\ntags:\n- "lora"\ninstance_prompt: "mira"\n---\n\n# mira\n';
const card = route("POST", "/api/lora/card", () => json({ card: CARD, repo_id: "me/mira" }));

describe("UploadTool", () => {
  it("without a token: says so, links to Models, previews the card but cannot upload", async () => {
    const user = userEvent.setup();
    renderTool(<UploadTool lora="models/loras/mira.safetensors" />, { handlers: [credentials(false), card] });
    expect(await screen.findByText("No Hugging Face token saved")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Models page" })).toHaveAttribute("href", "/models");
    await fill(user, screen.getByRole("textbox", { name: "Repository" }), "me/mira");
    expect(screen.getByRole("button", { name: "Upload" })).toBeDisabled();
    expect(screen.getByText("Save a Hugging Face token first (Models page).")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Preview the model card" }));
    expect(await screen.findByRole("textbox", { name: "Model card (README.md)" })).toHaveValue(CARD);
    expect(screen.queryByText(/write it as user\/name/)).toBeNull();
    await fill(user, screen.getByRole("textbox", { name: "Repository" }), "mira");
    expect(screen.getByText(/write it as user\/name/)).toBeInTheDocument();
  });

  it("checks the repository name as it is typed", async () => {
    const user = userEvent.setup();
    renderTool(<UploadTool lora="models/loras/mira.safetensors" />, { handlers: [credentials(true)] });
    await fill(user, screen.getByRole("textbox", { name: "Repository" }), "me/my mira");
    expect(screen.getByText("Letters, digits, - _ . only: name or user/name.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Upload" })).toBeDisabled();
  });

  it("sends the options to the preview, and the edited card with the upload", async () => {
    const user = userEvent.setup();
    const { calls } = renderTool(<UploadTool lora="models/loras/mira.safetensors" />, {
      handlers: [
        credentials(true),
        card,
        ...jobHandlers("/api/lora/upload", {
          kind: "upload",
          title: "Upload to me/mira",
          state: "completed",
          result: { repo_id: "me/mira", url: "https://huggingface.co/me/mira", files: ["mira.safetensors", "README.md"] },
        }),
      ],
    });
    await fill(user, screen.getByRole("textbox", { name: "Repository" }), "me/mira");
    await user.type(screen.getByRole("textbox", { name: "Trigger words" }), "mira, red hair");
    await user.type(screen.getByRole("textbox", { name: "Example prompts" }), "mira smiling{enter}{enter}mira at night");
    await user.click(screen.getByRole("button", { name: "Add an image" }));
    await fill(user, screen.getByRole("textbox", { name: "Image 1" }), "outputs/run/samples/a.png");
    await fill(user, screen.getByRole("textbox", { name: "Prompt 1" }), "mira, red hair");
    await user.click(screen.getByRole("button", { name: "Preview the model card" }));
    const editor = await screen.findByRole("textbox", { name: "Model card (README.md)" });
    expect(await bodyOf(calls, "POST", "/api/lora/card")).toEqual({
      lora: "models/loras/mira.safetensors",
      repo_id: "me/mira",
      private: true,
      trigger_words: ["mira", "red hair"],
      prompts: ["mira smiling", "mira at night"],
      images: [["outputs/run/samples/a.png", "mira, red hair"]],
    });
    await user.type(editor, "Made with love.");
    await user.click(screen.getByRole("button", { name: "Upload" }));
    const sent = (await bodyOf(calls, "POST", "/api/lora/upload")) as Record<string, unknown>;
    expect(sent.card).toBe(`${CARD}Made with love.`);
    expect(sent.repo_id).toBe("me/mira");
    const link = await screen.findByRole("link", { name: "me/mira" });
    expect(link).toHaveAttribute("href", "https://huggingface.co/me/mira");
    expect(screen.getByText(/Published 2 files to/)).toBeInTheDocument();
  });
});
