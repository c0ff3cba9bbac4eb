"""Pure ASGI middleware: request id and access log, metrics, security headers, API keys. (Header
size and connection limits are the HTTP protocol's: app/web/protocol.py.)"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.contract.problems import ProblemError
from app.web import metrics
from app.web.problems import problem_response

access_log = logging.getLogger("territorialite.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CLIENT_CLOSED_REQUEST = 499  # nginx's status for a client that left before its answer: never sent
SANDBOX_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class AccessLogMiddleware:
    """One JSON line per request: method, route template, status, duration, request id. Never a
    body, a query string or a location. Also feeds the metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = _header(scope, b"x-request-id")
        request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex
        state = scope.setdefault("state", {})  # the endpoint leaves the ranking size there
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                _add_headers(message, ((b"x-request-id", request_id.encode()),))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:  # the client left: nobody to answer, and no server error
            status = CLIENT_CLOSED_REQUEST
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            metrics.observe(scope["method"], route, status, elapsed)
            size = state.get("ranking_size")
            if size is not None:
                metrics.RANKING_SIZE.observe(size)
            access_log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": scope["method"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    }
                },
            )


class ProbePortMiddleware:
    """The probe port (TERRITORIALITE_PROBE_PORT) answers the probes, and nothing else: it is for the
    orchestrator, and its connections are never refused for capacity (app/web/protocol.py)."""

    PATHS = frozenset({"/healthz", "/readyz"})

    def __init__(self, app: ASGIApp, probe_port: int) -> None:
        self.app = app
        self.probe_port = probe_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        if scope["type"] != "http" or not server or server[1] != self.probe_port or scope["path"] in self.PATHS:
            await self.app(scope, receive, send)
            return
        problem = ProblemError("not-found", "this port answers only /healthz and /readyz")
        await problem_response(problem, scope["path"])(scope, receive, send)


def _security_headers(cache_control: str, csp: str) -> tuple[tuple[bytes, bytes], ...]:
    return tuple(
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in (
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY"),
            ("Cache-Control", cache_control),
            ("Content-Security-Policy", csp),
        )
    )


API_HEADERS = _security_headers("no-store", "default-src 'none'; frame-ancestors 'none'")
SANDBOX_HEADERS = _security_headers("no-store", SANDBOX_CSP)
SANDBOX_ASSET_HEADERS = _security_headers("public, max-age=86400", SANDBOX_CSP)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/docs/static/"):
            headers = SANDBOX_ASSET_HEADERS
        elif path.startswith(("/docs", "/demo")):
            headers = SANDBOX_HEADERS
        else:
            headers = API_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _add_headers(message, headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _header(scope: Scope, name: bytes) -> str:
    """A request header's value ("" when absent), without building a Headers object per request."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


def _add_headers(message: Message, headers: tuple[tuple[bytes, bytes], ...]) -> None:
    """Sets these (lower-case) headers on a response start: appended, the common case, or in place
    of the answer's own (as MutableHeaders would, at five times the cost)."""
    raw = list(message.get("headers", ()))
    present = {key.lower() for key, _ in raw}
    if any(name in present for name, _ in headers):
        mutable = MutableHeaders(raw=raw)
        for name, value in headers:
            mutable[name.decode("latin-1")] = value.decode("latin-1")
        raw = mutable.raw
    else:
        raw.extend(headers)
    message["headers"] = raw


class ApiKeyMiddleware:
    """When keys are configured, /v1/* requires X-API-Key equal to one of them (constant-time)."""

    def __init__(self, app: ASGIApp, keys: Iterable[str]) -> None:
        self.app = app
        self.keys = tuple(k.encode() for k in keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        offered = Headers(scope=scope).get("x-api-key", "").encode()
        # compare against every key, without stopping early, so timing tells nothing
        valid = False
        for key in self.keys:
            valid |= hmac.compare_digest(offered, key)
        if not valid:
            problem = ProblemError(
                "unauthorized", "send a valid X-API-Key header", headers={"WWW-Authenticate": "ApiKey"}
            )
            await problem_response(problem, scope["path"])(scope, receive, send)
            return
        await self.app(scope, receive, send)
