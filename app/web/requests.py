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
    """The raw body. It must keep coming: in each period of TERRITORIALITE_BODY_TIMEOUT_SECONDS, at
    least TERRITORIALITE_BODY_MIN_RATE bytes a second on average, or the request gets a 408. Bytes
    sent ahead count for the current period only: a client cannot send fast, then stall for minutes
    while holding its place (app/web/work.py)."""
    loop = asyncio.get_running_loop()
    period, due = settings.body_timeout_seconds, settings.body_timeout_seconds * settings.body_min_rate
    period_end, received_in_period = loop.time() + period, 0
    body = bytearray()
    while True:
        try:
            async with asyncio.timeout_at(period_end):
                message = await request.receive()
        except TimeoutError:
            if received_in_period < due:
                raise ProblemError(
                    "request-timeout",
                    f"the body came at under {settings.body_min_rate} bytes per second over {period} s",
                    headers=CLOSE,
                ) from None
            period_end, received_in_period = period_end + period, 0
            continue
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        body += message.get("body", b"")
        received_in_period += len(message.get("body", b""))
        if len(body) > settings.max_body_bytes:
            raise _too_large(settings.max_body_bytes)
        if not message.get("more_body", False):
            return bytes(body)


async def ensure_connected(request: Request) -> None:
    """Raises ClientDisconnect when the client has gone (the body must have been read)."""
    if await request.is_disconnected():
        raise ClientDisconnect


def _too_large(max_bytes: int) -> ProblemError:
    return ProblemError("payload-too-large", f"the body must not exceed {max_bytes} bytes", headers=CLOSE)
