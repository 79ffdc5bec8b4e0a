import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderWithProviders } from "@/test/render";
import { Nav } from "./Nav";

describe("Nav", () => {
  it("lists every page in order and marks the current one", () => {
    renderWithProviders(<Nav />, { route: "/datasets" });
    const nav = screen.getByRole("navigation", { name: "Main" });
    const links = Array.from(nav.querySelectorAll("a")).map((a) => a.textContent ?? "");
    expect(links).toHaveLength(6);
    for (const [index, label] of ["Files", "Datasets", "Training", "Jobs", "Models", "Utilities"].entries()) {
      expect(links[index]).toContain(label);
    }
    expect(screen.getByRole("link", { name: /Datasets/ })).toHaveAttribute("aria-current", "page");
    expect(screen.getByRole("link", { name: /Files/ })).not.toHaveAttribute("aria-current");
  });
});
