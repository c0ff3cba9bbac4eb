"""Reading a JSON body: media type and size limit, each failure a problem."""

from __future__ import annotations

from starlette.requests import Request

from app.contract.problems import ProblemError


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw JSON body, refused early when of another media type or over the limit."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise ProblemError(
            "unsupported-media-type", f"send the body as application/json, not {media_type or 'nothing'!r}"
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise _too_large(max_bytes)
    return bytes(body)


def _too_large(max_bytes: int) -> ProblemError:
    return ProblemError("payload-too-large", f"the body must not exceed {max_bytes} bytes")
