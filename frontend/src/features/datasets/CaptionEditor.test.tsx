import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";

import { ApiError } from "@/api/client";
import { renderWithProviders } from "@/test/render";
import { CaptionEditor, type CaptionIo } from "./CaptionEditor";

function Harness({ io, onSaved }: { io: CaptionIo; onSaved?: (text: string, version: string) => void }) {
  const [caption, setCaption] = useState({ text: "cat, sitting", version: "v1" });
  return (
    <CaptionEditor
      imageName="a.png"
      caption={caption.text}
      version={caption.version}
      io={io}
      onSaved={(text, version) => {
        setCaption({ text, version });
        onSaved?.(text, version);
      }}
    />
  );
}

const conflict = () =>
  new ApiError(409, { code: "conflict", message: "The caption of a.png was changed elsewhere since you opened it.", fix: "Reload it." });

describe("CaptionEditor", () => {
  it("edits in place and saves with the version it read", async () => {
    const user = userEvent.setup();
    const save = vi.fn(async (text: string) => ({ path: "a.png", text, version: "v2" }));
    const io = { save, load: vi.fn() };
    renderWithProviders(<Harness io={io} />);
    await user.click(screen.getByRole("button", { name: /Caption of a.png: cat, sitting/ }));
    const box = screen.getByRole("textbox", { name: "Caption of a.png" });
    await user.clear(box);
    await user.type(box, "cat, standing");
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(save).toHaveBeenCalledWith("cat, standing", "v1");
    expect(await screen.findByRole("button", { name: /Caption of a.png: cat, standing/ })).toBeInTheDocument();
    expect(io.load).not.toHaveBeenCalled();
  });

  it("Escape cancels without saving; Ctrl+Enter saves", async () => {
    const user = userEvent.setup();
    const save = vi.fn(async (text: string) => ({ path: "a.png", text, version: "v2" }));
    renderWithProviders(<Harness io={{ save, load: vi.fn() }} />);
    await user.click(screen.getByRole("button", { name: /Caption of a.png/ }));
    await user.type(screen.getByRole("textbox", { name: "Caption of a.png" }), ", extra{Escape}");
    expect(save).not.toHaveBeenCalled();
    expect(screen.getByRole("button", { name: /Caption of a.png: cat, sitting\./ })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: /Caption of a.png/ }));
    await user.type(screen.getByRole("textbox", { name: "Caption of a.png" }), ", smile{Control>}{Enter}{/Control}");
    expect(save).toHaveBeenCalledWith("cat, sitting, smile", "v1");
  });

  it("on a 409 shows both versions, and saving mine goes against the version now on disk", async () => {
    const user = userEvent.setup();
    const save = vi
      .fn<(text: string, version: string) => Promise<{ path: string; text: string; version: string }>>()
      .mockRejectedValueOnce(conflict())
      .mockImplementation(async (text) => ({ path: "a.png", text, version: "v3" }));
    const load = vi.fn(async () => ({ path: "a.png", text: "cat, sitting, by another window", version: "v2" }));
    const onSaved = vi.fn();
    renderWithProviders(<Harness io={{ save, load }} onSaved={onSaved} />);
    await user.click(screen.getByRole("button", { name: /Caption of a.png/ }));
    const box = screen.getByRole("textbox", { name: "Caption of a.png" });
    await user.clear(box);
    await user.type(box, "my words");
    await user.click(screen.getByRole("button", { name: "Save" }));

    const dialog = await screen.findByRole("dialog", { name: /changed elsewhere/ });
    expect(within(dialog).getByRole("textbox", { name: /Your version/ })).toHaveValue("my words");
    expect(within(dialog).getByRole("textbox", { name: /Saved version/ })).toHaveValue("cat, sitting, by another window");
    expect(onSaved).not.toHaveBeenCalled(); // nothing decided, nothing lost

    await user.click(within(dialog).getByRole("button", { name: "Save my version" }));
    expect(save).toHaveBeenLastCalledWith("my words", "v2");
    await waitFor(() => expect(onSaved).toHaveBeenCalledWith("my words", "v3"));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  });

  it("on a 409 can keep the saved version instead", async () => {
    const user = userEvent.setup();
    const save = vi.fn().mockRejectedValue(conflict());
    const load = vi.fn(async () => ({ path: "a.png", text: "theirs", version: "v2" }));
    const onSaved = vi.fn();
    renderWithProviders(<Harness io={{ save, load }} onSaved={onSaved} />);
    await user.click(screen.getByRole("button", { name: /Caption of a.png/ }));
    await user.type(screen.getByRole("textbox", { name: "Caption of a.png" }), " mine");
    await user.click(screen.getByRole("button", { name: "Save" }));
    const dialog = await screen.findByRole("dialog");
    await user.click(within(dialog).getByRole("button", { name: "Keep the saved version" }));
    expect(onSaved).toHaveBeenCalledWith("theirs", "v2");
    expect(save).toHaveBeenCalledTimes(1);
    expect(await screen.findByRole("button", { name: /Caption of a.png: theirs/ })).toBeInTheDocument();
  });

  it("shows another error with what to do, and keeps the text", async () => {
    const user = userEvent.setup();
    const save = vi.fn().mockRejectedValue(new ApiError(0, { code: "offline", message: "The lorakit server cannot be reached.", fix: "Check that it runs." }));
    renderWithProviders(<Harness io={{ save, load: vi.fn() }} />);
    await user.click(screen.getByRole("button", { name: /Caption of a.png/ }));
    await user.type(screen.getByRole("textbox", { name: "Caption of a.png" }), ", kept");
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("cannot be reached");
    expect(screen.getByRole("alert")).toHaveTextContent("Check that it runs.");
    expect(screen.getByRole("textbox", { name: "Caption of a.png" })).toHaveValue("cat, sitting, kept");
  });
});

describe("CaptionEditor drafts", () => {
  it("an open editor that leaves the page (scrolled away) comes back with its unsaved text", async () => {
    const user = userEvent.setup();
    const store = new Map<string, string>();
    const io = {
      save: vi.fn(),
      load: vi.fn(),
      draft: { get: () => store.get("a"), set: (t: string | undefined) => (t === undefined ? store.delete("a") : store.set("a", t)) },
    };
    const view = renderWithProviders(<Harness io={io} />);
    await user.click(screen.getByRole("button", { name: /Caption of a.png/ }));
    await user.type(screen.getByRole("textbox", { name: "Caption of a.png" }), ", half typed");
    view.unmount();
    renderWithProviders(<Harness io={io} />);
    expect(screen.getByRole("textbox", { name: "Caption of a.png" })).toHaveValue("cat, sitting, half typed");
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(store.size).toBe(0);
    expect(io.save).not.toHaveBeenCalled();
  });
});
