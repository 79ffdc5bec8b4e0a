"""Loopback servers that behave like Civitai, its signed-URL storage, and the Hugging Face Hub.

They follow the documented behaviour the client relies on: Civitai's ``/api/v1/model-versions``,
``/api/v1/models`` and ``/api/download/models/<vid>`` (401 without a token, else a redirect to a signed
storage URL that serves the file with Content-Disposition); the Hub's ``/api/models/<repo>/tree``,
``/api/models/<repo>/revision``, and ``/<repo>/resolve/<rev>/<path>`` (302 to a CDN URL for LFS files,
with ``X-Repo-Commit``, ``X-Linked-Etag`` and ``X-Linked-Size``); byte ranges with ``If-Range``.
Faults are injected per file: statuses to answer first, dropped connections, a lying Content-Length,
an HTML page, no range support, throttling, holding a response midway until released.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit


@dataclass
class Served:
    data: bytes
    name: str = "file.safetensors"
    etag: str | None = None  # default: the sha256
    statuses: list[int] = field(default_factory=list)  # answered (then dropped) before serving the file
    drop_after: int | None = None  # close the connection after this many body bytes...
    drops: int = 0  # ...this many times
    lie_length: int | None = None  # announce this Content-Length instead of the real one
    html: bool = False
    ranges: bool = True
    throttle_s: float = 0.0  # sleep per 64 KiB block
    hold_after: int | None = None  # once this many body bytes were sent in all, hold every response...
    release: threading.Event = field(default_factory=threading.Event)  # ...until this is set
    sent: int = 0

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 with a route table; records every request."""

    def __init__(self):
        self.requests: list[dict] = []
        self.routes: list[tuple[str, re.Pattern, object]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _dispatch(self, method: str):
                parts = urlsplit(self.path)
                owner.requests.append(
                    {
                        "method": method,
                        "path": parts.path,
                        "query": parts.query,
                        "headers": {k.title(): v for k, v in self.headers.items()},
                    }
                )
                for m, pattern, handler in owner.routes:
                    match = pattern.fullmatch(parts.path)
                    if match and m in (method, "*"):
                        return handler(self, method, match, parse_qs(parts.query))
                self.send_json(404, {"error": "Not found"})

            def do_GET(self):
                self._dispatch("GET")

            def do_HEAD(self):
                self._dispatch("HEAD")

            def send_json(self, status: int, body, headers: dict | None = None):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(raw)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):  # clients that hang up on purpose are expected
                pass

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def route(self, method: str, pattern: str, handler) -> None:
        self.routes.append((method, re.compile(pattern), handler))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve_file(handler, method: str, served: Served, extra_headers: dict | None = None) -> None:
    """Serve ``served`` with ranges, If-Range, and its injected faults."""
    if served.statuses:
        status = served.statuses.pop(0)
        handler.send_json(status, {"error": f"status {status}"}, {"Retry-After": "0"} if status == 429 else None)
        return
    etag = f'"{served.etag or served.sha256}"'
    data, status, start = served.data, 200, 0
    wanted = handler.headers.get("Range")
    if_range = handler.headers.get("If-Range")
    if wanted and served.ranges and (if_range is None or if_range == etag):
        a, b = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted).groups()
        start, end = int(a), int(b) if b else len(served.data) - 1
        if start >= len(served.data):
            handler.send_response(416)
            handler.send_header("Content-Range", f"bytes */{len(served.data)}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        data, status = served.data[start : end + 1], 206
    if served.html:
        data = b"<!DOCTYPE html><html><body>Please log in</body></html>"
    handler.send_response(status)
    handler.send_header("Content-Type", "text/html; charset=utf-8" if served.html else "application/octet-stream")
    handler.send_header("Content-Length", str(served.lie_length or len(data)))
    handler.send_header("ETag", etag)
    handler.send_header("Last-Modified", "Sat, 01 Nov 2025 10:00:00 GMT")
    handler.send_header(
        "Content-Disposition", f"attachment; filename=\"{served.name}\"; filename*=UTF-8''{quote(served.name)}"
    )
    if served.ranges:
        handler.send_header("Accept-Ranges", "bytes")
    if status == 206:
        handler.send_header("Content-Range", f"bytes {start}-{start + len(data) - 1}/{len(served.data)}")
    for k, v in (extra_headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    if method == "HEAD":
        return
    limit = len(data)
    if served.drops and served.drop_after is not None:
        served.drops -= 1
        limit = min(limit, served.drop_after)
    try:
        for i in range(0, limit, 65536):
            if served.hold_after is not None and served.sent >= served.hold_after:
                served.release.wait(120)
            block = data[i : min(i + 65536, limit)]
            handler.wfile.write(block)
            served.sent += len(block)  # only a threshold: a lost update between threads does not matter
            if served.throttle_s:
                time.sleep(served.throttle_s)
    except (BrokenPipeError, ConnectionResetError):
        return
    if limit < len(data) or served.lie_length:
        handler.close_connection = True  # end the body early: the client sees a short read


class CivitaiServer:
    """Civitai's API plus a separate storage host that serves signed URLs (a different origin)."""

    def __init__(self, token: str = "civitai-secret-token-1234"):
        self.token = token
        self.api = LoopbackServer()
        self.storage = LoopbackServer()
        self.versions: dict[int, dict] = {}
        self.models: dict[int, dict] = {}
        self.files: dict[int, Served] = {}
        self.needs_token: set[int] = set()
        self.api.route("GET", r"/api/v1/model-versions/(\d+)", self._version)
        self.api.route("GET", r"/api/v1/models/(\d+)", self._model)
        self.api.route("*", r"/api/download/models/(\d+)", self._download)
        self.storage.route("*", r"/files/(\d+)/(.+)", self._storage)

    def add(self, model_id: int, version_id: int, served: Served, model_type: str = "LORA", **file_fields) -> None:
        file = {
            "id": version_id * 10,
            "name": served.name,
            "sizeKB": len(served.data) / 1024,
            "type": "Model",
            "primary": True,
            "metadata": {"format": "SafeTensor", "fp": "fp16"},
            "hashes": {"SHA256": served.sha256.upper(), "AutoV2": served.sha256[:10].upper()},
            "downloadUrl": f"{self.api.url}/api/download/models/{version_id}",
        } | file_fields
        version = {
            "id": version_id,
            "modelId": model_id,
            "name": f"v{version_id}",
            "baseModel": "SDXL 1.0",
            "files": [file],
            "downloadUrl": file["downloadUrl"],
            "model": {"name": f"Model {model_id}", "type": model_type},
        }
        self.versions[version_id] = version
        model = self.models.setdefault(
            model_id, {"id": model_id, "name": f"Model {model_id}", "type": model_type, "modelVersions": []}
        )
        model["modelVersions"].insert(0, {k: v for k, v in version.items() if k != "model"})  # newest first
        self.files[version_id] = served

    def _version(self, h, method, match, query):
        version = self.versions.get(int(match.group(1)))
        h.send_json(200, version) if version else h.send_json(404, {"error": "No model version with id"})

    def _model(self, h, method, match, query):
        model = self.models.get(int(match.group(1)))
        h.send_json(200, model) if model else h.send_json(404, {"error": "No model with id"})

    def _download(self, h, method, match, query):
        vid = int(match.group(1))
        if vid not in self.files:
            return h.send_json(404, {"error": "Model not found"})
        if vid in self.needs_token and h.headers.get("Authorization") != f"Bearer {self.token}":
            return h.send_json(401, {"error": "Unauthorized", "message": "The creator requires login"})
        signed = (
            f"{self.storage.url}/files/{vid}/{quote(self.files[vid].name)}?X-Amz-Signature=abc123&X-Amz-Expires=86400"
        )
        h.send_response(307)
        h.send_header("Location", signed)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _storage(self, h, method, match, query):
        if "X-Amz-Signature" not in query:
            return h.send_json(403, {"error": "AccessDenied"})
        serve_file(h, method, self.files[int(match.group(1))])

    def close(self) -> None:
        self.api.close()
        self.storage.close()


class HubServer:
    """The Hugging Face Hub endpoints huggingface_hub uses for downloads."""

    COMMIT = "0123456789abcdef0123456789abcdef01234567"

    def __init__(self):
        self.server = LoopbackServer()
        self.url = self.server.url
        self.repos: dict[str, dict[str, Served]] = {}
        self.gated: set[str] = set()
        self.server.route("GET", r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(?:/.*)?", self._tree)
        self.server.route("GET", r"/api/models/([^/]+/[^/]+)/revision/([^/]+)", self._revision)
        self.server.route("*", r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", self._resolve)
        # LFS files are served from another origin, as the real Hub's CDN is (the auth header stays on the Hub).
        self.cdn = LoopbackServer()
        self.cdn.route("*", r"/cdn/([0-9a-f]+)", self._cdn)

    def add(self, repo: str, files: dict[str, bytes]) -> None:
        self.repos[repo] = {path: Served(data, name=path.rsplit("/", 1)[-1]) for path, data in files.items()}

    @staticmethod
    def _lfs(path: str) -> bool:
        return path.endswith(".safetensors")

    def _check(self, h, repo: str) -> bool:
        if repo not in self.repos:
            h.send_json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            return False
        if repo in self.gated and not h.headers.get("Authorization"):
            h.send_json(401, {"error": "Access to model is restricted."}, {"X-Error-Code": "GatedRepo"})
            return False
        return True

    def _tree(self, h, method, match, query):
        repo = match.group(1)
        if not self._check(h, repo):
            return
        entries = []
        for path, served in self.repos[repo].items():
            entry = {
                "type": "file",
                "oid": hashlib.sha1(served.data).hexdigest(),
                "size": len(served.data),
                "path": path,
            }
            if self._lfs(path):
                entry["lfs"] = {"oid": served.sha256, "size": len(served.data), "pointerSize": 134}
            entries.append(entry)
        h.send_json(200, entries)

    def _revision(self, h, method, match, query):
        repo = match.group(1)
        if self._check(h, repo):
            siblings = [{"rfilename": p} for p in self.repos[repo]]
            h.send_json(200, {"id": repo, "modelId": repo, "sha": self.COMMIT, "siblings": siblings, "private": False})

    def _resolve(self, h, method, match, query):
        repo, path = match.group(1), match.group(3)
        if not self._check(h, repo):
            return
        served = self.repos[repo].get(path)
        if served is None:
            return h.send_json(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
        common = {"X-Repo-Commit": self.COMMIT}
        if self._lfs(path):
            h.send_response(302)
            h.send_header("Location", f"{self.cdn.url}/cdn/{served.sha256}?Expires=9999&Signature=abc")
            h.send_header("X-Repo-Commit", self.COMMIT)
            h.send_header("X-Linked-Etag", f'"{served.sha256}"')
            h.send_header("X-Linked-Size", str(len(served.data)))
            h.send_header("ETag", '"pointer-etag"')
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        served.etag = hashlib.sha1(served.data).hexdigest()
        serve_file(h, method, served, common)

    def _cdn(self, h, method, match, query):
        for files in self.repos.values():
            for served in files.values():
                if served.sha256 == match.group(1):
                    return serve_file(h, method, served)
        h.send_json(404, {"error": "no such blob"})

    def close(self) -> None:
        self.server.close()
        self.cdn.close()
