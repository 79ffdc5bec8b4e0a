import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "@/api/errors";
import { renderWithProviders } from "@/test/render";
import { LinkForm } from "./LinkForm";

function setup(onDownload = vi.fn(() => Promise.resolve())) {
  const user = userEvent.setup();
  renderWithProviders(<LinkForm onDownload={onDownload} />);
  const input = screen.getByRole("textbox", { name: "Link to a model" });
  const button = screen.getByRole("button", { name: "Download" });
  return { user, input, button, onDownload };
}

describe("LinkForm", () => {
  it("says what a Civitai page link is and starts the download with it", async () => {
    const { user, input, button, onDownload } = setup();
    await user.type(input, "https://civitai.com/models/123/cute-style?modelVersionId=456");
    expect(screen.getByText("Recognised: Civitai model 123, version 456.")).toBeInTheDocument();
    await user.click(button);
    expect(onDownload).toHaveBeenCalledWith("https://civitai.com/models/123/cute-style?modelVersionId=456");
    expect(screen.getByRole("status")).toHaveTextContent("Started: Civitai model 123, version 456.");
    expect(input).toHaveValue("");
  });

  it.each([
    ["https://huggingface.co/org/model/resolve/main/unet/model.safetensors", "The file unet/model.safetensors from org/model"],
    ["https://huggingface.co/org/model", "Hugging Face repository org/model"],
    ["https://example.com/m/model.safetensors", "The file model.safetensors from example.com"],
  ])("recognises %s", async (link, words) => {
    const { user, input } = setup();
    await user.type(input, link);
    expect(screen.getByText(`Recognised: ${words}.`)).toBeInTheDocument();
  });

  it("refuses an unusable link in plain words at the field, and sends nothing", async () => {
    const { user, input, button, onDownload } = setup();
    await user.type(input, "http://example.com/model.safetensors");
    await user.click(button);
    expect(onDownload).not.toHaveBeenCalled();
    expect(input).toHaveAccessibleDescription(/plain http:\/\/ link: it is not encrypted/);
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(screen.queryByText(/Recognised/)).not.toBeInTheDocument();
  });

  it("refuses a Civitai link that is not a model page, saying where to find the right one", async () => {
    const { user, input, button, onDownload } = setup();
    await user.type(input, "https://civitai.com/user/somebody");
    await user.click(button);
    expect(onDownload).not.toHaveBeenCalled();
    expect(input).toHaveAccessibleDescription(/not a model page or a download link.*Download button/);
  });

  it("asks for a link when Download is pressed on an empty field", async () => {
    const { user, input, button, onDownload } = setup();
    await user.click(button);
    expect(onDownload).not.toHaveBeenCalled();
    expect(input).toHaveAccessibleDescription(/Paste a link to a model\./);
  });

  it("shows the server's refusal of the link at the field, never as JSON", async () => {
    const refusal = new ApiError(400, {
      code: "invalid",
      message: "lorakit cannot use the link: it names a web site, not a file.",
      fix: "Paste one of: a Civitai model page …",
      field: "link",
    });
    const { user, input, button } = setup(vi.fn(() => Promise.reject(refusal)));
    await user.type(input, "https://example.com/x.safetensors");
    await user.click(button);
    expect(input).toHaveAccessibleDescription(/it names a web site, not a file\. Paste one of/);
    expect(screen.getByRole("form", { name: "Download a model from a link" }).textContent).not.toContain("{");
  });

  it("shows other failures as what happened and what to do", async () => {
    const { user, input, button } = setup(vi.fn(() => Promise.reject(new TypeError("Failed to fetch"))));
    await user.type(input, "https://example.com/x.safetensors");
    await user.click(button);
    expect(screen.getByRole("alert")).toHaveTextContent("The lorakit server cannot be reached.");
  });
});
