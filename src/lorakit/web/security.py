"""Who may talk to the server: a token beyond loopback, Origin checks, loopback Host names.

- With no token (the default, bound to 127.0.0.1) only loopback Host names are accepted, so a web page
  elsewhere cannot reach the API through DNS rebinding.
- With a token every HTTP request and WebSocket must carry it: ``Authorization: Bearer <token>``, the
  ``lorakit_token`` cookie, or ``?token=`` once (a GET with it sets the cookie, like Jupyter's link).
- Requests that change things (POST/PUT/PATCH/DELETE) and WebSockets coming from a browser page must
  come from this server's own origin or one listed in the settings.
- The web app's own files (GET/HEAD of anything but ``/api/``, ``/ws``, ``/docs`` and ``/openapi.json``) load
  without the token: they are the same public build for everyone and hold no workspace data. The app then
  meets the 401 of the API and shows its token page, which opens ``?token=`` like the printed link.
The token is compared in constant time and never logged or returned.
"""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from lorakit.web.errors import error_body

COOKIE = "lorakit_token"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
OPEN_PATHS = {"/api/health"}
# Paths that are never the web app's static files: the API, the WebSocket, the API documentation.
PROTECTED_PREFIXES = ("/api/", "/api", "/ws", "/docs", "/openapi.json")


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_app_file(scope: Scope) -> bool:
    """A GET/HEAD of the web app's static files or client routes (served without the token)."""
    if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
        return False
    path = scope["path"]
    return not any(path == p or path.startswith(p if p.endswith("/") else p + "/") for p in PROTECTED_PREFIXES)


class Guard:
    """ASGI middleware applying the rules above to HTTP and WebSocket."""

    def __init__(self, app: ASGIApp, *, token: str | None, allowed_origins: tuple[str, ...] = ()):
        self.app = app
        self.token = token
        self.allowed_origins = {o.rstrip("/") for o in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        problem = self._check(scope, headers)
        if problem is not None:
            status, code, message, fix = problem
            if scope["type"] == "websocket":
                # Closing before accepting refuses the handshake (HTTP 403 to the client).
                await send({"type": "websocket.close", "code": 4401 if status == 401 else 4403, "reason": message})
                return
            response = JSONResponse(error_body(code, message, fix), status_code=status)
            if status == 401:
                response.headers["WWW-Authenticate"] = "Bearer"
            await response(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        page = scope["type"] == "http" and scope.get("method") == "GET" and not scope["path"].startswith("/api/")
        if self.token and page and self._query_token_ok(query):
            # Jupyter-style link: remember the token in a cookie and drop it from the address bar.
            rest = {k: v for k, v in query.items() if k != "token"}
            target = scope["path"] + (f"?{urlencode(rest, doseq=True)}" if rest else "")
            response = JSONResponse({"redirect": target}, status_code=303, headers={"Location": target})
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check(self, scope: Scope, headers: Headers) -> tuple[int, str, str, str] | None:
        host = headers.get("host", "")
        if not self.token and _host_name(host) not in LOOPBACK_HOSTS:
            return (
                403,
                "forbidden",
                "This server only answers on this computer (localhost).",
                "Open it as http://127.0.0.1:<port>, or start it with a token to reach it from elsewhere.",
            )
        origin = headers.get("origin")
        changes = scope["type"] == "websocket" or scope.get("method", "GET") not in SAFE_METHODS
        if origin and changes and not self._origin_ok(origin, host, scope):
            return (
                403,
                "forbidden",
                f"Requests from the page at {origin} are not allowed to change things here.",
                "Use the lorakit web app itself, or add that origin to allowed_origins in the settings.",
            )
        if (
            self.token
            and scope["path"] not in OPEN_PATHS
            and not _is_app_file(scope)
            and not self._token_ok(scope, headers)
        ):
            return (
                401,
                "auth",
                "This server needs its access token.",
                "Open the link with ?token=... that `lorakit serve` printed, or send 'Authorization: Bearer <token>'.",
            )
        return None

    def _origin_ok(self, origin: str, host: str, scope: Scope) -> bool:
        origin = origin.rstrip("/")
        if origin in self.allowed_origins:
            return True
        scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        return origin in (f"{scheme}://{host}", f"http://{host}", f"https://{host}")

    def _query_token_ok(self, query: dict[str, list[str]]) -> bool:
        """A ``?token=`` that is the right one (only that sets the cookie; a wrong one is left to the app)."""
        assert self.token
        return any(secrets.compare_digest(c.encode(), self.token.encode()) for c in query.get("token", []))

    def _token_ok(self, scope: Scope, headers: Headers) -> bool:
        assert self.token
        candidates = []
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            candidates.append(auth[7:].strip())
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is just no cookie
            cookie = SimpleCookie()
        if COOKIE in cookie:
            candidates.append(cookie[COOKIE].value)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        candidates.extend(query.get("token", []))
        return any(secrets.compare_digest(c.encode(), self.token.encode()) for c in candidates)
