import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "@/api/errors";
import { renderWithProviders } from "@/test/render";
import type { Credential, Service } from "./api";
import { TokenPanelView } from "./TokenPanel";

const SECRET = "hf_ThisIsTheSecretToken9876";
const notSet = (service: Service): Credential => ({ service, set: false, source: null, masked: "(not set)" });

/** The panel over a fake server that keeps the token and answers only with its masked form, as the API does. */
function Harness({ onSave }: { onSave?: (service: Service, token: string) => Promise<unknown> }) {
  const [credentials, setCredentials] = useState<Credential[]>([notSet("civitai"), notSet("huggingface")]);
  const update = (c: Credential) => setCredentials((list) => list.map((x) => (x.service === c.service ? c : x)));
  return (
    <TokenPanelView
      credentials={credentials}
      onSave={async (service, token) => {
        if (onSave) await onSave(service, token);
        update({ service, set: true, source: "settings file", masked: `${token.slice(0, 3)}…${token.slice(-4)}` });
      }}
      onClear={async (service) => update(notSet(service))}
    />
  );
}

function section(name: string) {
  return screen.getByRole("region", { name });
}

describe("TokenPanel", () => {
  it("shows each service as not set, with a link to where a token comes from", () => {
    renderWithProviders(<Harness />);
    const civitai = section("Civitai");
    expect(within(civitai).getByText(/Not set/)).toBeInTheDocument();
    expect(within(civitai).getByRole("link", { name: /civitai\.com\/user\/account/ })).toHaveAttribute(
      "href",
      "https://civitai.com/user/account",
    );
    const hf = section("Hugging Face");
    expect(within(hf).getByRole("link", { name: /huggingface\.co\/settings\/tokens/ })).toHaveAttribute(
      "href",
      "https://huggingface.co/settings/tokens",
    );
  });

  it("hides the token while typing and never shows it after saving, only masked", async () => {
    const user = userEvent.setup();
    const onSave = vi.fn(() => Promise.resolve());
    renderWithProviders(<Harness onSave={onSave} />);
    const hf = section("Hugging Face");
    const input = within(hf).getByLabelText("Hugging Face token");
    expect(input).toHaveAttribute("type", "password");
    await user.type(input, SECRET);
    await user.click(within(hf).getByRole("button", { name: "Save Hugging Face token" }));

    expect(onSave).toHaveBeenCalledWith("huggingface", SECRET);
    expect(within(hf).getByText(/Set:/)).toHaveTextContent("hf_…9876");
    expect(within(hf).getByRole("status")).toHaveTextContent("shows only its last 4 characters");
    expect(within(hf).getByLabelText("New Hugging Face token")).toHaveValue("");
    expect(document.body.innerHTML).not.toContain(SECRET);
    expect(document.body.innerHTML).not.toContain("ThisIsTheSecret");
  });

  it("removes a saved token", async () => {
    const user = userEvent.setup();
    renderWithProviders(<Harness />);
    const civitai = section("Civitai");
    await user.type(within(civitai).getByLabelText("Civitai token"), "civitai-key-0123456789");
    await user.click(within(civitai).getByRole("button", { name: "Save Civitai token" }));
    await user.click(within(civitai).getByRole("button", { name: "Remove saved Civitai token" }));
    expect(within(civitai).getByText(/Not set/)).toBeInTheDocument();
    expect(within(civitai).getByRole("status")).toHaveTextContent("Removed.");
  });

  it("says in plain words what is wrong with a pasted token, at its field", async () => {
    const user = userEvent.setup();
    const onSave = vi.fn(() => Promise.resolve());
    renderWithProviders(<Harness onSave={onSave} />);
    const civitai = section("Civitai");
    const input = within(civitai).getByLabelText("Civitai token");
    await user.click(within(civitai).getByRole("button", { name: "Save Civitai token" }));
    expect(input).toHaveAccessibleDescription(/Paste your Civitai token first\./);
    await user.type(input, "abc");
    await user.click(within(civitai).getByRole("button", { name: "Save Civitai token" }));
    expect(input).toHaveAccessibleDescription(/too short to be a token/);
    expect(onSave).not.toHaveBeenCalled();
  });

  it("shows the server's refusal at the field and keeps what was typed", async () => {
    const user = userEvent.setup();
    const refusal = new ApiError(400, {
      code: "error",
      message: "That token is empty or contains spaces.",
      fix: "Copy the token again from https://civitai.com/user/account (API keys section).",
    });
    renderWithProviders(<Harness onSave={() => Promise.reject(refusal)} />);
    const civitai = section("Civitai");
    const input = within(civitai).getByLabelText("Civitai token");
    await user.type(input, "civitai-key-0123456789");
    await user.click(within(civitai).getByRole("button", { name: "Save Civitai token" }));
    expect(input).toHaveAccessibleDescription(/That token is empty or contains spaces\. Copy the token again/);
    expect(within(civitai).getByText(/Not set/)).toBeInTheDocument();
  });
});
