// One upload queue for the whole app: uploads go on while the user visits other pages.
import { useSyncExternalStore } from "react";
import { httpTransport } from "./api";
import { UploadQueue, type QueueSnapshot } from "./uploadQueue";

let shared: UploadQueue | null = null;

export function sharedQueue(): UploadQueue {
  shared ??= new UploadQueue(httpTransport);
  return shared;
}

export function useQueueSnapshot(queue: UploadQueue): QueueSnapshot {
  return useSyncExternalStore(queue.subscribe, queue.getSnapshot);
}
