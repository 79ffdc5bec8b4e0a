"""Parallel byte ranges for :class:`lorakit.models.transfer.Transfer`.

When the server accepts ranges and the file is large, the ``.part`` file is sized up front and N
connections each fill their own byte range with positioned writes. The sidecar records how far each range
got (saved every ``save_every_s``), so a killed download resumes every range where it stopped; counts are
updated only after the bytes are written, so the record never claims data that is not on disk.
"""

from __future__ import annotations

import contextlib
import os
import re
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

import httpx

CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class Retry(Exception):
    """A failure worth retrying (429, 5xx, a dropped connection)."""

    def __init__(self, why: str, wait_s: float | None = None):
        super().__init__(why)
        self.wait_s = wait_s


class Restart(Exception):
    """The server ignored our range or the file changed: start from byte 0."""


class ParallelRanges:
    """The range-filling half of a transfer (mixed into ``Transfer``, which provides state and I/O helpers)."""

    def _split(self, total: int) -> None:
        n = max(1, min(self.opt.connections, total // self.opt.min_range_bytes))
        step = -(-total // n)
        with open(self.part, "wb") as f:
            f.truncate(total)  # sized up front; each connection fills its own range
        self.state.update(mode="parallel", chunks=[[i, min(i + step, total) - 1, 0] for i in range(0, total, step)])
        self._save_state()

    def _parallel(self) -> None:
        self.total = self.state.get("size")
        self.done = self._start_bytes = self._have()
        todo = [c for c in self.state["chunks"] if c[0] + c[2] <= c[1]]
        with ThreadPoolExecutor(max_workers=self.opt.connections) as pool:
            futures = [pool.submit(self._fill_chunk, chunk) for chunk in todo]
            while True:
                done, pending = wait(futures, timeout=self.opt.save_every_s, return_when=FIRST_EXCEPTION)
                self._save_state()
                failed = [f for f in done if f.exception()]
                if failed:
                    self._stop.set()  # ask the other connections to stop at their next block
                    wait(pending)
                    self._save_state()
                    self._stop.clear()
                    raise failed[0].exception()  # type: ignore[misc]
                if not pending:
                    break
        received = self._have()
        if received != self.total:
            raise Retry(f"the server announced {self.total} bytes but sent {received}")

    def _fill_chunk(self, chunk: list[int]) -> None:
        start, end = chunk[0], chunk[1]
        headers = {"Range": f"bytes={start + chunk[2]}-{end}"}
        if self._validator():
            headers["If-Range"] = self._validator() or ""
        with contextlib.closing(self._open(headers)) as response:
            if response.status_code != 206:
                raise Restart("the server stopped answering byte ranges (the file may have changed)")
            match = CONTENT_RANGE.match(response.headers.get("content-range", ""))
            if not match or int(match.group(1)) != start + chunk[2]:
                raise Restart("the server answered a different byte range")
            fd = os.open(self.part, os.O_WRONLY)
            try:
                for block in response.iter_bytes():
                    block = block[: end + 1 - (start + chunk[2])]
                    self._write(lambda data, at=start + chunk[2]: os.pwrite(fd, data, at), block)
                    with self._lock:
                        chunk[2] += len(block)
                    self._tick(len(block))
                    if start + chunk[2] > end:
                        break
            except (httpx.TransportError, httpx.StreamError) as error:
                raise Retry(f"the connection dropped ({error.__class__.__name__})") from None
            finally:
                os.close(fd)
        if start + chunk[2] <= end:
            raise Retry("the server closed a range early")
