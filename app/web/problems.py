"""Problem details (RFC 9457): one error tree, one table from error to status and type, one handler."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from http import HTTPStatus

import pydantic_core
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.territoriality.ranking import PatientLocationError

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:territorialite:problem:"
logger = logging.getLogger("territorialite")


@dataclass(frozen=True, slots=True)
class FieldError:
    pointer: str  # JSON pointer (RFC 6901) into the request body
    detail: str


@dataclass(frozen=True, slots=True)
class ParameterError:
    parameter: str  # name of a query-string parameter
    detail: str


@dataclass
class ProblemError(Exception):
    """A request the service refuses. `kind` is a key of PROBLEM_TYPES."""

    kind: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    parameters: list[ParameterError] = field(default_factory=list)


# kind -> (status, title). The type URI is TYPE_PREFIX + kind; openapi.yaml lists the same kinds.
PROBLEM_TYPES: dict[str, tuple[int, str]] = {
    "malformed-json": (400, "The body is not valid JSON"),
    "unauthorized": (401, "A valid API key is required"),
    "not-found": (404, "No such resource"),
    "method-not-allowed": (405, "Method not allowed on this resource"),
    "payload-too-large": (413, "The body is larger than the service accepts"),
    "unsupported-media-type": (415, "The body must be application/json"),
    "headers-too-large": (431, "The request headers are larger than the service accepts"),
    "invalid-request": (422, "The request has invalid fields"),
    "internal-error": (500, "Internal error"),
}
HTTP_STATUS_KINDS = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized", 413: "payload-too-large"}


def from_validation_error(error: ValidationError) -> ProblemError:
    if any(e["type"] == "json_invalid" for e in error.errors()):
        return ProblemError("malformed-json", error.errors()[0]["msg"])
    errors = [FieldError(_pointer(e["loc"]), _message(e)) for e in error.errors(include_url=False, include_input=False)]
    return ProblemError("invalid-request", f"{len(errors)} invalid field(s)", errors)


def from_patient_location_error(error: PatientLocationError) -> ProblemError:
    return ProblemError(
        "invalid-request",
        "the patient's location cannot be resolved",
        [FieldError(error.pointer, error.unresolved.detail)],
    )


def _pointer(location: tuple[int | str, ...]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in location]
    return "/" + "/".join(parts) if parts else ""


def _message(error: ErrorDetails) -> str:
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return message.removeprefix("Value error, ")


def problem_response(problem: ProblemError, instance: str | None = None) -> Response:
    status, title = PROBLEM_TYPES[problem.kind]
    body: dict[str, object] = {
        "type": TYPE_PREFIX + problem.kind,
        "title": title,
        "status": status,
        "detail": problem.detail,
    }
    if instance:
        body["instance"] = instance
    if problem.errors or problem.parameters:
        body["errors"] = [{"pointer": e.pointer, "detail": e.detail} for e in problem.errors] + [
            {"parameter": e.parameter, "detail": e.detail} for e in problem.parameters
        ]
    return Response(pydantic_core.to_json(body), status_code=status, media_type=PROBLEM_JSON, headers=problem.headers)


async def handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc, request.url.path)


async def handle_patient_location(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PatientLocationError)
    return problem_response(from_patient_location_error(exc), request.url.path)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = HTTP_STATUS_KINDS.get(exc.status_code, "not-found")
    problem = ProblemError(kind, exc.detail or HTTPStatus(exc.status_code).phrase, headers=dict(exc.headers or {}))
    return problem_response(problem, request.url.path)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Last resort: never a stack trace to the client. The log names the error type only."""
    logger.error("unexpected error %s on %s", type(exc).__name__, request.url.path)
    return problem_response(ProblemError("internal-error", "the service could not answer this request"))


EXCEPTION_HANDLERS = {
    ProblemError: handle_problem,
    PatientLocationError: handle_patient_location,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
