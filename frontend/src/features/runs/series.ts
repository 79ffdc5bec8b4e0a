// The chart series of a run, built incrementally: each update appends only the new steps (a run of 100,000
// steps is not rebuilt on every event). A resumed run shows the runs it continues first, each up to the step
// where the next one took over.
import { type RunData, smooth } from "./runData";

export interface Series {
  x: number[];
  raw: number[];
  smooth: number[];
  lrGroups: string[];
  lr: (number | null)[][];
}

export class SeriesBuilder {
  readonly series: Series = { x: [], raw: [], smooth: [], lrGroups: [], lr: [] };
  private signature = "";
  private taken = 0; // points taken from the last part
  private weight = -1;
  private ema = 0;
  private count = 0;

  /** Bring the series up to date with `parts` (oldest first; the last one is the live run). */
  update(parts: readonly RunData[], weight: number): Series {
    const last = parts[parts.length - 1];
    const cut = (i: number) => parts[i + 1]?.steps[0] ?? Infinity;
    const signature = parts
      .slice(0, -1)
      .map((p, i) => `${p.steps.length}:${cut(i)}`)
      .join("|") + `|${last?.lrGroups.join(",")}`;
    if (signature !== this.signature || weight !== this.weight || (last && last.steps.length < this.taken)) {
      this.rebuild(parts, weight, signature);
      return this.series;
    }
    if (last) this.append(last, this.taken, Infinity);
    return this.series;
  }

  private rebuild(parts: readonly RunData[], weight: number, signature: string): void {
    const s = this.series;
    s.x.length = s.raw.length = s.smooth.length = 0;
    const groups: string[] = [];
    for (const part of parts) for (const g of part.lrGroups) if (!groups.includes(g)) groups.push(g);
    s.lrGroups = groups;
    s.lr = groups.map(() => []);
    this.signature = signature;
    this.weight = weight;
    this.ema = 0;
    this.count = 0;
    parts.forEach((part, i) => {
      const until = parts[i + 1]?.steps[0] ?? Infinity;
      this.taken = 0;
      this.append(part, 0, i === parts.length - 1 ? Infinity : until);
    });
  }

  private append(part: RunData, from: number, before: number): void {
    const s = this.series;
    const w = this.weight;
    let i = from;
    for (; i < part.steps.length; i++) {
      const step = part.steps[i]!;
      if (step >= before) break;
      const value = part.loss[i]!;
      s.x.push(step);
      s.raw.push(value);
      if (Number.isFinite(value)) {
        this.count += 1;
        this.ema = this.ema * w + (1 - w) * value;
        s.smooth.push(w > 0 ? this.ema / (1 - w ** this.count) : value);
      } else s.smooth.push(NaN);
      s.lrGroups.forEach((g, k) => {
        const at = part.lrGroups.indexOf(g);
        s.lr[k]!.push(at >= 0 ? (part.lr[at]![i] ?? null) : null);
      });
    }
    this.taken = i;
  }
}

export { smooth };
