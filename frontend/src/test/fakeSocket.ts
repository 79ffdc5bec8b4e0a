import { JobsSocket, type SocketLike } from "@/api/jobsSocket";

/** A WebSocket stand-in: the test opens it, drops it and delivers server messages by hand. */
export class FakeSocket implements SocketLike {
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: ((event: Event) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  drop() {
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code: 1006 }));
  }
  deliver(message: unknown) {
    this.onmessage?.(new MessageEvent("message", { data: JSON.stringify(message) }));
  }
}

/** A JobsSocket over FakeSockets; `last()` is the current one, `runTimers()` fires pending reconnects. */
export function fakeJobsSocket() {
  const sockets: FakeSocket[] = [];
  const timers: (() => void)[] = [];
  const socket = new JobsSocket({
    url: "ws://test/ws",
    createSocket: (url) => {
      const fake = new FakeSocket(url);
      sockets.push(fake);
      return fake;
    },
    setTimer: (fn) => timers.push(fn),
    clearTimer: () => {},
  });
  return {
    socket,
    sockets,
    last: () => sockets[sockets.length - 1]!,
    runTimers: () => timers.splice(0).forEach((fn) => fn()),
  };
}
