import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError, toApiError } from "@/api/errors";
import { renderWithProviders } from "@/test/render";
import { ErrorNotice } from "./ErrorNotice";

describe("ErrorNotice", () => {
  it("shows the server's message and fix, not the JSON", () => {
    const body = { error: { code: "conflict", message: "The caption changed since you opened it.", fix: "Reload, then edit again.", field: null } };
    renderWithProviders(<ErrorNotice error={toApiError(409, body)} />);
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("The caption changed since you opened it.");
    expect(alert).toHaveTextContent("What to do: Reload, then edit again.");
    expect(alert.textContent).not.toContain("{");
    expect(alert.textContent).not.toContain("conflict");
  });

  it("gives plain words for a body that is not the server's error shape", () => {
    renderWithProviders(<ErrorNotice error={toApiError(502, "<html>Bad gateway</html>")} />);
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("The server had a problem (HTTP 502).");
    expect(alert.textContent).not.toContain("<html>");
  });

  it("turns a network failure into 'cannot be reached' and never shows a stack", () => {
    const error = new TypeError("Failed to fetch");
    renderWithProviders(<ErrorNotice error={error} />);
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("The lorakit server cannot be reached.");
    expect(alert.textContent).not.toContain("TypeError");
  });

  it("lists every issue of a config with several problems", () => {
    const error = new ApiError(422, {
      code: "config",
      message: "The config has 2 problems.",
      fix: "Correct them.",
      issues: [
        { field: "train.lr", message: "must be positive", fix: null },
        { field: "output.output_name", message: "must be a plain name", fix: "Drop the slash." },
      ],
    });
    renderWithProviders(<ErrorNotice error={error} />);
    expect(screen.getByText(/train\.lr: must be positive/)).toBeInTheDocument();
    expect(screen.getByText(/output\.output_name: must be a plain name Drop the slash\./)).toBeInTheDocument();
  });

  it("offers a retry button when given one", async () => {
    const retry = vi.fn();
    renderWithProviders(<ErrorNotice error={new Error("x")} onRetry={retry} />);
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(retry).toHaveBeenCalledOnce();
  });
});
