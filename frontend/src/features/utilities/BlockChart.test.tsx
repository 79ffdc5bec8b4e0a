import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderWithProviders } from "@/test/render";
import { BlockChart } from "./BlockChart";
import { REPORT } from "./testing";

describe("BlockChart", () => {
  it("draws one bar per block, scaled to the largest, with the numbers in a table", () => {
    const { container } = renderWithProviders(
      <BlockChart title="Strength per block" help="How much." blocks={REPORT.blocks} value={(b) => b.strength} format={(v) => v.toFixed(2)} />,
    );
    const bars = [...container.querySelectorAll("rect")];
    expect(bars).toHaveLength(3);
    const heights = bars.map((b) => Number(b.getAttribute("height")));
    expect(heights[2]).toBeGreaterThan(heights[1]!);
    expect(heights[1]! / heights[2]!).toBeCloseTo(0.5 / 1.2, 5);
    expect(screen.getByRole("img")).toHaveAccessibleName("Strength per block: 3 blocks; the highest is MID at 1.20.");
    const rows = within(screen.getByRole("table")).getAllByRole("row");
    expect(rows.slice(1).map((r) => r.textContent)).toEqual(["TE L000.30", "IN040.50", "MID1.20"]);
  });

  it("leaves a block with no known value at zero and says so", () => {
    const blocks = [{ ...REPORT.blocks[0]!, strength: null }, REPORT.blocks[2]!];
    const { container } = renderWithProviders(
      <BlockChart title="Strength" help="" blocks={blocks} value={(b) => b.strength} format={(v) => v.toFixed(2)} />,
    );
    expect(container.querySelector("rect")?.getAttribute("height")).toBe("0");
    expect(screen.getByRole("table")).toHaveTextContent("TE L00not known");
  });
});
