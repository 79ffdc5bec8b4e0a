import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { json, route } from "@/test/fetchMock";
import { FilePicker } from "./FilePicker";
import { renderTool } from "./testing";

const entry = (path: string, is_dir = false) => ({
  name: path.slice(path.lastIndexOf("/") + 1),
  path,
  is_dir,
  size: 10,
  modified: 1,
  kind: is_dir ? "folder" : "model",
});
const LISTINGS: Record<string, ReturnType<typeof entry>[]> = {
  "models/loras": [entry("models/loras/old", true), entry("models/loras/mira.safetensors"), entry("models/loras/notes.txt")],
  "models/loras/old": [entry("models/loras/old/v1.safetensors")],
};
const files = route("GET", "/api/files", (request) => {
  const path = new URL(request.url).searchParams.get("path") ?? "";
  const entries = LISTINGS[path];
  return entries
    ? json({ path, entries })
    : json({ error: { code: "not_found", message: `Nothing is at '${path}' in the workspace.`, fix: "Check the name." } }, 404);
});

function Harness() {
  const [value, setValue] = useState("");
  return <FilePicker label="LoRA file" value={value} onChange={setValue} startIn="models/loras" accept={[".safetensors"]} />;
}

describe("FilePicker", () => {
  it("browses folders and picks a file of the wanted kind", async () => {
    const user = userEvent.setup();
    renderTool(<Harness />, { handlers: [files] });
    await user.click(screen.getByRole("button", { name: "Browse for lora file" }));
    expect(await screen.findByRole("button", { name: "Choose mira.safetensors" })).toBeInTheDocument();
    expect(screen.queryByText("notes.txt")).toBeNull(); // not a LoRA
    await user.click(screen.getByRole("button", { name: "Open folder old" }));
    await user.click(await screen.findByRole("button", { name: "Choose v1.safetensors" }));
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(screen.getByRole("textbox", { name: "LoRA file" })).toHaveValue("models/loras/old/v1.safetensors");
  });

  it("shows the server's error for a folder that is not there, with a way up", async () => {
    const user = userEvent.setup();
    function Typed() {
      const [value, setValue] = useState("models/loras/gone/x.safetensors");
      return <FilePicker label="LoRA file" value={value} onChange={setValue} startIn="models/loras" />;
    }
    renderTool(<Typed />, { handlers: [files] });
    await user.click(screen.getByRole("button", { name: "Browse for lora file" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Nothing is at 'models/loras/gone' in the workspace.");
    await user.click(screen.getByRole("button", { name: "Go up to models/loras" }));
    expect(await screen.findByRole("button", { name: "Choose mira.safetensors" })).toBeInTheDocument();
  });
});
