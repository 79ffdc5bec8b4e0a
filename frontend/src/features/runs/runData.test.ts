import { describe, expect, it } from "vitest";
import type { JobEvent } from "@/api/jobs";
import { RunData, samplesByStep, smooth } from "./runData";
import { SeriesBuilder } from "./series";

const step = (seq: number, s: number, loss = 1 / s): JobEvent => ({
  seq,
  type: "step",
  data: { step: s, total_steps: 100, epoch: 1, loss, avg_loss: loss, lr: { unet: 1e-3 * s, te: 5e-4 }, it_s: 2, eta_s: 10 },
  time: seq,
});

describe("RunData", () => {
  it("applies each sequence number once, in order, whatever the arrival order and repeats", () => {
    const data = new RunData();
    data.add([step(3, 3), step(1, 1)]); // 3 waits for 2
    expect(data.steps).toEqual([1]);
    expect(data.hasGap).toBe(true);
    data.add([step(2, 2), step(1, 1), step(3, 3)]);
    expect(data.steps).toEqual([1, 2, 3]);
    data.add([step(2, 2), step(3, 3), step(4, 4), step(4, 4)]);
    expect(data.steps).toEqual([1, 2, 3, 4]);
    expect(data.lastSeq).toBe(4);
    expect(data.hasGap).toBe(false);
    expect(data.lr).toEqual([
      [0.001, 0.002, 0.003, 0.004],
      [5e-4, 5e-4, 5e-4, 5e-4],
    ]);
    expect(data.latest).toMatchObject({ step: 4, totalSteps: 100, itS: 2, etaS: 10 });
  });

  it("a complete answer skips a hole in the log, but never waits past its own end", () => {
    const data = new RunData();
    data.add([step(1, 1), step(3, 3), step(7, 7)], { complete: true }); // 2 was lost; 7 is inside the answer
    expect(data.steps).toEqual([1, 3, 7]);
    data.add([step(10, 10)]); // live, 8 and 9 not yet seen: waits
    data.add([step(8, 8)], { complete: true });
    expect(data.steps).toEqual([1, 3, 7, 8]);
    expect(data.hasGap).toBe(true);
    data.add([step(9, 9)]);
    expect(data.steps).toEqual([1, 3, 7, 8, 9, 10]);
  });

  it("collects samples (grouped by step, newest first), saved files and log lines in words", () => {
    const data = new RunData();
    data.add([
      { seq: 1, type: "status", data: { state: "running", message: "Training 40 steps" }, time: 1 },
      { seq: 2, type: "sample", data: { path: "outputs/r/samples/r_000010_00.png", prompt: "a cat", step: 10 }, time: 2 },
      { seq: 3, type: "sample", data: { path: "outputs/r/samples/r_000010_01.png", prompt: "a dog", step: 10 }, time: 2 },
      { seq: 4, type: "sample", data: { path: "outputs/r/samples/r_000020_00.png", prompt: "a cat", step: 20 }, time: 3 },
      { seq: 5, type: "checkpoint", data: { path: "outputs/r/state", step: 20, kind: "state" }, time: 4 },
      { seq: 6, type: "warning", data: { message: "Loss is high", fix: "Lower the rate" }, time: 5 },
      { seq: 7, type: "result", data: { lora: "outputs/r/r.safetensors", steps: 40 }, time: 6 },
    ]);
    expect(samplesByStep(data.samples).map((g) => [g.step, g.samples.map((s) => s.name)])).toEqual([
      [20, ["r_000020_00.png"]],
      [10, ["r_000010_00.png", "r_000010_01.png"]],
    ]);
    expect(data.files.map((f) => [f.path, f.kind])).toEqual([
      ["outputs/r/state", "state"],
      ["outputs/r/r.safetensors", "lora"],
    ]);
    expect(data.log.map((l) => l.text)).toContain("Training 40 steps");
    expect(data.log.find((l) => l.level === "warning")).toMatchObject({ text: "Loss is high", fix: "Lower the rate" });
    expect(data.latest.status).toBe("running");
  });
});

describe("smoothing and series", () => {
  it("smooth: weight 0 is the raw values; the debiased average starts at the first value", () => {
    expect(smooth([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const s = smooth([2, 2, 2], 0.9);
    s.forEach((v) => expect(v).toBeCloseTo(2, 10));
  });

  it("the series grows by appending and equals a fresh build", () => {
    const data = new RunData();
    const builder = new SeriesBuilder();
    for (let i = 1; i <= 50; i++) {
      data.add([step(i, i, Math.sin(i) + 2)]);
      builder.update([data], 0.9);
    }
    const fresh = new SeriesBuilder().update([data], 0.9);
    expect(builder.series.x).toEqual(fresh.x);
    builder.series.smooth.forEach((v, i) => expect(v).toBeCloseTo(fresh.smooth[i]!, 12));
    expect(builder.series.x).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it("a resumed run shows the earlier run up to where it took over, with no step twice", () => {
    const earlier = new RunData();
    earlier.add(Array.from({ length: 15 }, (_, i) => step(i + 1, i + 1))); // ran to 15, saved at 10
    const later = new RunData();
    const builder = new SeriesBuilder();
    expect(builder.update([earlier, later], 0).x).toHaveLength(15);
    later.add([step(1, 11), step(2, 12)]);
    expect(builder.update([earlier, later], 0).x).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    later.add([step(3, 13)]);
    expect(builder.update([earlier, later], 0).x.slice(-3)).toEqual([11, 12, 13]);
  });
});
