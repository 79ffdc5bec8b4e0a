// Plain words for a job's events, for the logs on the Jobs page and the run monitor.
import type { JobEvent } from "@/api/jobs";

export interface LogLine {
  seq: number;
  time: number;
  level: "info" | "warning" | "error";
  text: string;
  fix?: string;
}

const num = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);
const text = (value: unknown): string => (typeof value === "string" ? value : "");

/** Plain words for an event in a log, or null for events a log leaves out (steps: they are the chart). */
export function describeEvent(event: JobEvent): Omit<LogLine, "seq" | "time"> | null {
  const d = event.data;
  switch (event.type) {
    case "status":
      return { level: d.state === "failed" ? "error" : "info", text: text(d.message) || `Now ${text(d.state)}.` };
    case "log":
      return { level: d.level === "error" ? "error" : d.level === "warning" ? "warning" : "info", text: text(d.message) };
    case "warning":
      return { level: "warning", text: text(d.message), fix: text(d.fix) || undefined };
    case "error":
      return { level: "error", text: text(d.message), fix: text(d.fix) || undefined };
    case "epoch": {
      const loss = num(d.avg_loss);
      const total = num(d.total_epochs);
      return {
        level: "info",
        text: `Epoch ${num(d.epoch) ?? "?"}${total ? ` of ${total}` : ""} done${loss !== null ? `, average loss ${loss.toFixed(4)}` : ""}.`,
      };
    }
    case "validation":
      return { level: "info", text: `Validation at step ${num(d.step) ?? "?"}: loss ${num(d.loss)?.toFixed(4) ?? "?"}.` };
    case "sample":
      return { level: "info", text: `Sample at step ${num(d.step) ?? "?"}: “${text(d.prompt)}”.` };
    case "checkpoint":
      return {
        level: "info",
        text: d.kind === "state" ? `Saved the training state at step ${num(d.step) ?? "?"} (${text(d.path)}).` : `Saved ${text(d.path)}.`,
      };
    case "progress": {
      const done = num(d.done);
      const total = num(d.total);
      // Only the ends of a progress run, not every tick.
      if (done === null || (total !== null && done !== total && done !== 1)) return null;
      return { level: "info", text: `${done}${total ? ` of ${total}` : ""} ${text(d.unit) || "done"}${total && total !== 1 ? "s" : ""}.` };
    }
    case "result":
      return { level: "info", text: d.lora ? `Result: ${text(d.lora)}.` : "Finished." };
    default:
      return null;
  }
}

