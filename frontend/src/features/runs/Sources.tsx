// Loads another run's events (a run this one continues, or a run to compare) and hands its RunData up.
import { useEffect } from "react";
import { useRunData } from "./api";
import type { RunData } from "./runData";

export function RunSource({
  jobId,
  live,
  onData,
}: {
  jobId: string;
  live: boolean;
  onData: (jobId: string, data: RunData | null) => void;
}) {
  const { data } = useRunData(jobId, { live });
  useEffect(() => {
    onData(jobId, data);
    const off = data.subscribe(() => onData(jobId, data));
    return () => {
      off();
      onData(jobId, null);
    };
  }, [jobId, data, onData]);
  return null;
}
