import { useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useContext, useEffect, useRef, useState } from "react";
import { type Job, type JobEvent, JobsSocket, type SocketStatus } from "./jobsSocket";

const SocketContext = createContext<JobsSocket | null>(null);

/** Query keys starting with "jobs" are refreshed when a job changes state or the socket (re)connects. */
export const JOBS_KEY = ["jobs"] as const;

/** Starts the one /ws connection for the app; give `socket` to use a prepared one (tests). */
export function JobsSocketProvider({ children, socket }: { children: ReactNode; socket?: JobsSocket }) {
  const [instance] = useState(() => socket ?? new JobsSocket());
  const client = useQueryClient();
  useEffect(() => {
    const offJob = instance.onJob(() => void client.invalidateQueries({ queryKey: JOBS_KEY }));
    // After a reconnect, state changes may have been missed: ask the server again.
    const offStatus = instance.onStatus((status) => {
      if (status === "open") void client.invalidateQueries({ queryKey: JOBS_KEY });
    });
    instance.start();
    return () => {
      offJob();
      offStatus();
      instance.stop();
    };
  }, [instance, client]);
  return <SocketContext.Provider value={instance}>{children}</SocketContext.Provider>;
}

export function useJobsSocket(): JobsSocket {
  const socket = useContext(SocketContext);
  if (!socket) throw new Error("useJobsSocket needs a JobsSocketProvider above it");
  return socket;
}

/** "connecting" | "open" | "reconnecting" | "closed", kept current. */
export function useSocketStatus(): SocketStatus {
  const socket = useJobsSocket();
  const [status, setStatus] = useState(socket.status);
  useEffect(() => {
    setStatus(socket.status);
    return socket.onStatus(setStatus);
  }, [socket]);
  return status;
}

/** Call `listener` for each of a job's events, in order, each once (also across reconnects). */
export function useJobEvents(jobId: string | null | undefined, listener: (event: JobEvent) => void): void {
  const socket = useJobsSocket();
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => {
    if (!jobId) return;
    return socket.subscribe(jobId, (event) => latest.current(event));
  }, [socket, jobId]);
}

/** Call `listener` whenever a job changes state (e.g. refresh a page's data when its job finished). */
export function useJobUpdates(listener: (job: Job) => void): void {
  const socket = useJobsSocket();
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => socket.onJob((job) => latest.current(job)), [socket]);
}
