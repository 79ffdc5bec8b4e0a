"""One HTTP file transfer done safely: resumable, verified, never half-written under its final name.

The file grows as ``<name>.part`` next to a small ``<name>.part.json`` sidecar (the URL, the server's
validators ETag/Last-Modified, the size, and for parallel transfers the byte ranges done). Only when
every byte has arrived and the sha256 matches (when known) is it renamed to ``<name>``.

- Resume: ``Range: bytes=<have>-`` with ``If-Range: <validator>``; a server that answers 200 (it ignores
  ranges, or the file changed since) makes us start over cleanly instead of gluing two files together.
- Parallel: when the server answers ranges and the file is large, N connections each fill their own
  byte range of a pre-sized ``.part`` file; the sidecar records progress per range so that resumes too.
- Retries with exponential backoff for 429 (honouring ``Retry-After``), 5xx and dropped connections.
- Free disk space is checked before writing; a disk that fills up anyway keeps the ``.part`` for resume.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from lorakit.credentials import redact
from lorakit.errors import DownloadError, TokenRequiredError
from lorakit.events import CANCEL, PROGRESS, STATUS, STOP, Commands, Emitter
from lorakit.fileio import atomic_write_text
from lorakit.hub.civitai import TOKEN_FIX
from lorakit.models.hashes import sha256_file
from lorakit.models.links import RemoteFile
from lorakit.models.ranges import CONTENT_RANGE, ParallelRanges, Restart, Retry

log = logging.getLogger(__name__)
_HTML_START = re.compile(rb"^\s*<(!doctype html|html|head|body)", re.IGNORECASE)
FREE_SPACE_MARGIN = 64 * 1024 * 1024  # leave the disk a little room beyond the file itself


@dataclass
class TransferOptions:
    retries: int = 5
    backoff_s: float = 1.0  # first wait; doubles each retry, capped at max_backoff_s
    max_backoff_s: float = 30.0
    connections: int = 4  # parallel range requests for large files
    parallel_min_bytes: int = 64 * 1024 * 1024
    min_range_bytes: int = 8 * 1024 * 1024  # never split into ranges smaller than this
    timeout_s: float = 60.0
    progress_every_s: float = 0.5
    save_every_s: float = 1.0  # how often parallel transfers record their ranges in the sidecar


class Stopped(DownloadError):
    """The user stopped the download; the ``.part`` file is kept so it resumes next time."""

    code = "stopped"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def human_size(n: float | None) -> str:
    if n is None:
        return "unknown size"
    for unit in ("bytes", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


class Transfer(ParallelRanges):
    """Download ``remote`` to ``dest`` (the final path). ``run()`` returns the sha256 of the file."""

    def __init__(
        self,
        remote: RemoteFile,
        dest: Path,
        *,
        token: str | None = None,
        emitter: Emitter | None = None,
        commands: Commands | None = None,
        options: TransferOptions | None = None,
    ):
        self.remote, self.dest, self.token = remote, Path(dest), token
        self.emitter = emitter or Emitter()
        self.commands = commands
        self.opt = options or TransferOptions()
        self.part = self.dest.with_name(self.dest.name + ".part")
        self.sidecar = self.dest.with_name(self.dest.name + ".part.json")
        self.state: dict = {}
        self.done = 0
        self.total: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._start_bytes = 0
        self._last_emit = 0.0
        self._last_poll = float("-inf")

    # --- state ------------------------------------------------------------------------------------
    def _load_state(self) -> None:
        try:
            state = json.loads(self.sidecar.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            state = {}
        same = state.get("url") == self.remote.url and state.get("sha256") == self.remote.sha256
        if same and self.part.exists():
            self.state = state
        else:
            self._reset()

    def _reset(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.part.unlink()
        self.state = {"url": self.remote.url, "sha256": self.remote.sha256, "mode": "single"}
        self._save_state()

    def _save_state(self) -> None:
        with self._lock:
            text = json.dumps(self.state)
        atomic_write_text(self.sidecar, text)

    # --- one downloader per file -------------------------------------------------------------------
    def _lock_file(self) -> Path:
        return self.dest.with_name(self.dest.name + ".part.lock")

    def _acquire(self) -> None:
        """Make sure no other process is writing the same ``.part`` (two writers would corrupt it)."""
        lock = self._lock_file()
        for _ in range(2):
            try:
                fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                try:
                    pid = int(lock.read_text(encoding="utf-8").strip() or 0)
                except (OSError, ValueError):
                    pid = 0
                if pid and pid != os.getpid() and _alive(pid):
                    raise DownloadError(
                        f"{self.dest.name} is already being downloaded by another lorakit process ({pid}).",
                        "Wait for that download to finish, or stop it; then run this again to resume.",
                    ) from None
                lock.unlink(missing_ok=True)  # left by a process that died: take over its partial file
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(str(os.getpid()))
            return
        raise DownloadError(f"Could not lock {lock}.", "Remove the file if no download is running.")

    # --- the transfer -----------------------------------------------------------------------------
    def run(self) -> str:
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        self._acquire()
        try:
            return self._run()
        finally:
            self._lock_file().unlink(missing_ok=True)

    def _run(self) -> str:
        self._load_state()
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        timeout = httpx.Timeout(self.opt.timeout_s, connect=min(self.opt.timeout_s, 15.0))
        attempt = restarts = 0
        with httpx.Client(headers=headers, timeout=timeout, follow_redirects=True) as self.http:
            while True:
                try:
                    if self.state.get("mode") == "parallel":
                        self._parallel()
                    else:
                        self._single()
                    break
                except Restart as why:
                    restarts += 1
                    if restarts > self.opt.retries:
                        raise DownloadError(
                            f"The server for {self.dest.name} keeps changing its answers ({why}).",
                            "Try again later, or download from another source.",
                        ) from None
                    log.info("restarting %s: %s", self.dest.name, why)
                    self.emitter.emit(STATUS, state="running", message=f"Restarting {self.dest.name}: {why}")
                    self._reset()
                except Retry as why:
                    attempt += 1
                    if attempt > self.opt.retries:
                        raise DownloadError(
                            f"Downloading {self.dest.name} failed {attempt} times: {redact(str(why), self.token)}."
                            f" {human_size(self._have())} of {human_size(self.total)} are kept.",
                            "Run the same command again later: it resumes where it stopped.",
                        ) from None
                    wait_s = why.wait_s or min(self.opt.max_backoff_s, self.opt.backoff_s * 2 ** (attempt - 1))
                    self.emitter.emit(STATUS, state="running", message=f"{why}; retrying in {wait_s:.0f} s")
                    if self.commands and self.commands.poll() & {STOP, CANCEL}:
                        self._stopped()
                    time.sleep(wait_s)
        return self._finish()

    def _have(self) -> int:
        try:
            size = self.part.stat().st_size
        except FileNotFoundError:
            return 0
        if self.state.get("mode") == "parallel":
            return sum(c[2] for c in self.state.get("chunks", []))
        return size

    def _open(self, headers: dict[str, str]) -> httpx.Response:
        try:
            request = self.http.build_request("GET", self.remote.url, headers=headers)
            response = self.http.send(request, stream=True)
        except httpx.TransportError as error:
            raise Retry(f"connection problem ({error.__class__.__name__})") from None
        status = response.status_code
        if status in (200, 206, 416):
            return response
        response.close()
        if status == 429 or status >= 500:
            retry_after = response.headers.get("retry-after", "")
            wait_s = min(float(retry_after), self.opt.max_backoff_s) if retry_after.isdigit() else None
            raise Retry(f"the server answered {status}", wait_s)
        raise self._http_error(status)

    def _http_error(self, status: int) -> DownloadError:
        name = self.dest.name
        if status in (401, 403) and self.remote.auth == "civitai":
            if status == 401 and not self.token:
                return TokenRequiredError(
                    f"Civitai refused to send {name} without a token.", TOKEN_FIX, field="civitai"
                )
            return TokenRequiredError(
                f"Civitai refused to send {name} (HTTP {status}).",
                "Your token may be wrong or expired, or the model is early access: set a new token with"
                " `lorakit models token civitai` and check the model page while logged in.",
                field="civitai",
            )
        if status in (401, 403):
            service = "huggingface" if self.remote.auth == "huggingface" else "the site"
            error = TokenRequiredError if self.remote.auth == "huggingface" else DownloadError
            return error(
                f"{service.capitalize()} refused to send {name} (HTTP {status}): it needs a login or permission.",
                "For Hugging Face, accept the model's licence on its page and set a token with"
                " `lorakit models token hf`.",
                field="huggingface" if self.remote.auth == "huggingface" else None,
            )
        if status == 404:
            return DownloadError(f"The server has no file at this link ({name}, HTTP 404).", "Check the link.")
        return DownloadError(f"The server answered HTTP {status} for {name}.", "Check the link or try again later.")

    def _validator(self) -> str | None:
        return self.state.get("etag") or self.state.get("last_modified")

    def _check_space(self, needed: int) -> None:
        free = shutil.disk_usage(self.dest.parent).free
        if free < needed + FREE_SPACE_MARGIN:
            raise DownloadError(
                f"Not enough free disk space for {self.dest.name}: it needs {human_size(needed)} more,"
                f" and {self.dest.parent} has {human_size(free)} free.",
                f"Free at least {human_size(needed + FREE_SPACE_MARGIN - free)} (or download to another"
                " disk with --to), then run the same command again.",
            )

    def _single(self) -> None:
        have = self._have()
        headers: dict[str, str] = {}
        if have:
            headers["Range"] = f"bytes={have}-"
            if self._validator():
                headers["If-Range"] = self._validator() or ""
        with contextlib.closing(self._open(headers)) as response:
            total = self._accept(response, have)
            if total is not None and have >= total:
                return
            if response.status_code == 200 and have:
                raise Restart("the server sent the whole file again (it changed, or does not resume)")
            ranges = response.headers.get("accept-ranges", "").lower() == "bytes"
            go_parallel = not have and ranges and (total or 0) >= self.opt.parallel_min_bytes
            if not (go_parallel and self.opt.connections > 1):
                self._stream(response, have, total)
                return
        # Large file on a server that takes ranges: this response is closed unread, N connections follow.
        self._split(total or 0)
        self._parallel()

    def _stream(self, response: httpx.Response, have: int, total: int | None) -> None:
        """Append one response body to the ``.part`` file (hashing it on the way when starting at byte 0)."""
        first = True
        digest = hashlib.sha256() if not have else None
        self.done, self._start_bytes = have, have
        try:
            with open(self.part, "ab" if have else "wb") as out:
                for block in response.iter_bytes():
                    if first and not have and _HTML_START.match(block):
                        raise self._html_error()
                    first = False
                    self._write(out.write, block)
                    if digest:
                        digest.update(block)
                    self._tick(len(block))
        except (httpx.TransportError, httpx.StreamError) as error:
            where = f"after {self._have():,} of {total:,} announced bytes " if total else ""
            raise Retry(f"the connection ended {where}({error.__class__.__name__})") from None
        received = self._have()
        if total is not None and received != total:
            raise Retry(f"the server announced {total} bytes but sent {received}")
        self.state["size"] = received
        if digest:
            self.state["sha256_of_part"] = digest.hexdigest()
        self._save_state()

    def _accept(self, response: httpx.Response, have: int) -> int | None:
        """Check a response's status and type; record validators; return the full size when known."""
        content_type = response.headers.get("content-type", "").lower()
        if content_type.startswith("text/html"):
            raise self._html_error()
        if response.status_code == 416:
            size = self.state.get("size")
            if size is not None and have == size:
                return size
            raise Restart("the server refused our resume point")
        total = None
        if response.status_code == 206:
            match = CONTENT_RANGE.match(response.headers.get("content-range", ""))
            if not match or int(match.group(1)) != have:
                raise Restart("the server answered a different byte range")
            total = int(match.group(3)) if match.group(3) != "*" else None
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) != int(match.group(2)) - int(match.group(1)) + 1:
                raise DownloadError(
                    f"The server contradicts itself about the size of {self.dest.name} (Content-Length {length},"
                    f" Content-Range {match.group(0)}), so the download cannot be trusted.",
                    "Try again later or download from another source.",
                )
        elif response.headers.get("content-length", "").isdigit():
            total = int(response.headers["content-length"])
        self.total = total or self.remote.size
        etag = response.headers.get("etag")
        # A weak ETag cannot validate a range (RFC 9110 13.1.5); Last-Modified can.
        self.state.update(
            etag=etag if etag and not etag.startswith("W/") else None,
            last_modified=response.headers.get("last-modified"),
            size=total,
        )
        self._save_state()
        if self.total:
            self._check_space(self.total - have)
        return total

    def _html_error(self) -> DownloadError:
        return DownloadError(
            f"The link for {self.dest.name} gave a web page, not a file.",
            "Copy the download link itself (on Civitai the Download button, on Hugging Face the file's"
            " download arrow), or paste the model page link and let lorakit find the file.",
        )

    def _write(self, write, data: bytes) -> None:
        try:
            write(data)
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                self._save_state()
                raise DownloadError(
                    f"The disk filled up while downloading {self.dest.name}"
                    f" ({human_size(self._have())} of {human_size(self.total)} saved as {self.part.name}).",
                    "Free some space, then run the same command again: it resumes from there.",
                ) from None
            raise

    def _tick(self, n: int) -> None:
        with self._lock:
            self.done += n
            now = time.monotonic()
            due = now - self._last_emit >= self.opt.progress_every_s
            if due:
                self._last_emit = now
            # The commands inbox may be a file: look at it a few times a second, not once per network read.
            poll = self.commands is not None and now - self._last_poll >= 0.2
            if poll:
                self._last_poll = now
        if due:
            self._emit_progress()
        if poll and self.commands and (self.commands.poll() & {STOP, CANCEL}):
            self._stop.set()
        if self._stop.is_set():
            self._stopped()

    def _emit_progress(self) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = (self.done - self._start_bytes) / elapsed
        eta = (self.total - self.done) / rate if self.total and rate > 0 else None
        self.emitter.emit(
            PROGRESS, done=self.done, total=self.total, unit="B", rate=rate, eta_s=eta, file=self.dest.name
        )

    def _stopped(self) -> None:
        self._save_state()
        raise Stopped(
            f"Download of {self.dest.name} stopped; {human_size(self._have())} kept.",
            "Run the same command again to resume.",
        )

    # --- verify and move into place ---------------------------------------------------------------
    def _finish(self) -> str:
        self._emit_progress()
        sha = self.state.get("sha256_of_part") or sha256_file(self.part)
        size = self.part.stat().st_size
        expected = (self.remote.sha256 or "").lower()
        if expected and sha != expected:
            self.part.unlink()
            self.sidecar.unlink()
            raise DownloadError(
                f"{self.dest.name} arrived damaged or different: its sha256 is {sha[:12]}…, the source lists"
                f" {expected[:12]}… ({human_size(size)} received).",
                "The broken copy was removed; run the command again to download it afresh.",
            )
        if not expected and self.remote.size and abs(size - self.remote.size) > 1024:
            self.part.unlink()
            self.sidecar.unlink()
            raise DownloadError(
                f"The server sent {human_size(size)} for {self.dest.name} but the source lists"
                f" {human_size(self.remote.size)}.",
                "The broken copy was removed; try again later.",
            )
        os.replace(self.part, self.dest)
        self.sidecar.unlink(missing_ok=True)
        return sha
