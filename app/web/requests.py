"""Reading a JSON body: media type, size limit, then pydantic validation, each failure a problem."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from app.web.problems import ProblemError, from_validation_error

Model = TypeVar("Model", bound=BaseModel)


async def read_json(request: Request, model: type[Model], max_bytes: int) -> Model:
    return parse_json(await read_body(request, max_bytes), model)


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


def parse_json(body: bytes, model: type[Model]) -> Model:
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise from_validation_error(error) from error


def _too_large(max_bytes: int) -> ProblemError:
    return ProblemError("payload-too-large", f"the body must not exceed {max_bytes} bytes")
