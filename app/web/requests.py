"""Reading a JSON body: media type, size limit and pace, each failure a problem."""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request

from app.contract.problems import ProblemError
from app.settings import Settings
from app.web.work import CLOSE


def check_media_type(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise ProblemError(
            "unsupported-media-type",
            f"send the body as application/json, not {media_type or 'nothing'!r}",
            headers=CLOSE,
        )


def declared_size(request: Request, max_bytes: int) -> int:
    """The body's size as announced, refused at once when over the limit; the limit when unknown."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        return max_bytes
    if int(declared) > max_bytes:
        raise _too_large(max_bytes)
    return int(declared)


async def read_body(request: Request, settings: Settings) -> bytes:
    """The raw body. After TERRITORIALITE_BODY_TIMEOUT_SECONDS it must keep arriving at
    TERRITORIALITE_BODY_MIN_RATE bytes per second on average, or the request gets a 408."""
    body = bytearray()
    started = asyncio.get_running_loop().time()
    try:
        async with asyncio.timeout_at(started + settings.body_timeout_seconds) as deadline:
            async for chunk in request.stream():
                body += chunk
                if len(body) > settings.max_body_bytes:
                    raise _too_large(settings.max_body_bytes)
                deadline.reschedule(started + settings.body_timeout_seconds + len(body) / settings.body_min_rate)
    except TimeoutError:
        raise ProblemError(
            "request-timeout", f"the body arrived at under {settings.body_min_rate} bytes per second", headers=CLOSE
        ) from None
    return bytes(body)


async def ensure_connected(request: Request) -> None:
    """Raises ClientDisconnect when the client has gone (the body must have been read)."""
    if await request.is_disconnected():
        raise ClientDisconnect


def _too_large(max_bytes: int) -> ProblemError:
    return ProblemError("payload-too-large", f"the body must not exceed {max_bytes} bytes", headers=CLOSE)
