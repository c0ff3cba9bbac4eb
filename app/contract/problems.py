"""Problem details (RFC 9457) as data: the kinds of refusal, their status and title, and field
errors with JSON pointers (RFC 6901) into the request. The HTTP layer only renders them."""

from __future__ import annotations

import itertools
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic_core
from pydantic import ValidationError
from pydantic_core import core_schema

from app.contract.limits import MAX_FIELD_ERRORS
from app.territoriality.patients import PatientLocationError

TYPE_PREFIX = "urn:territorialite:problem:"

# kind -> (status, title). The type URI is TYPE_PREFIX + kind; openapi.yaml lists the same kinds.
PROBLEM_TYPES: dict[str, tuple[int, str]] = {
    "malformed-http": (400, "The request is not HTTP/1.1 as the service reads it"),
    "malformed-json": (400, "The body is not valid JSON"),
    "duplicate-key": (400, "The body repeats a key inside one object"),
    "unauthorized": (401, "A valid API key is required"),
    "not-found": (404, "No such resource"),
    "method-not-allowed": (405, "Method not allowed on this resource"),
    "request-timeout": (408, "The request was not received in time"),
    "payload-too-large": (413, "The body is larger than the service accepts"),
    "answer-too-large": (413, "The answer would be larger than the service sends"),
    "unsupported-media-type": (415, "The body must be application/json"),
    "headers-too-large": (431, "The request headers are larger than the service accepts"),
    "invalid-request": (422, "The request has invalid fields"),
    "internal-error": (500, "Internal error"),
    "service-busy": (503, "The service is busy: retry later"),
}


@dataclass(frozen=True, slots=True)
class FieldError:
    pointer: str  # JSON pointer (RFC 6901) into the request body
    detail: str

    def under(self, prefix: str) -> FieldError:
        """The same error, for a document nested at `prefix` in a bigger one (a session of an audit)."""
        return FieldError(prefix + self.pointer, self.detail)


@dataclass(frozen=True, slots=True)
class ParameterError:
    parameter: str  # name of a query-string parameter
    detail: str


@dataclass
class ProblemError(Exception):
    """A request the service refuses. `kind` is a key of PROBLEM_TYPES."""

    kind: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)  # the first MAX_FIELD_ERRORS
    headers: dict[str, str] = field(default_factory=dict)
    parameters: list[ParameterError] = field(default_factory=list)  # query-string parameters at fault
    error_count: int = 0  # every error, listed or not

    @property
    def status(self) -> int:
        return PROBLEM_TYPES[self.kind][0]

    def body(self, instance: str | None = None) -> dict[str, object]:
        status, title = PROBLEM_TYPES[self.kind]
        body: dict[str, object] = {"type": TYPE_PREFIX + self.kind, "title": title, "status": status}
        body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors:
            body.update(error_members(self.errors, self.error_count))
        if self.parameters:
            body["errors"] = [
                *body.get("errors", []),  # type: ignore[misc]
                *({"parameter": e.parameter, "detail": e.detail} for e in self.parameters),
            ]
            if self.error_count > len(self.parameters):
                body["error_count"] = self.error_count
        return body


def bounded(errors: Iterable[FieldError], limit: int = MAX_FIELD_ERRORS) -> tuple[list[FieldError], int]:
    """The one bound on error lists: the first `limit` errors, and how many there are in all (the
    rest are counted, never kept), so that no answer grows with the number of mistakes."""
    remaining = iter(errors)
    listed = list(itertools.islice(remaining, limit))
    return listed, len(listed) + sum(1 for _ in remaining)


def error_members(listed: Sequence[FieldError], count: int) -> dict[str, object]:
    """`errors` as answers show them, and `error_count` when some were left out."""
    members: dict[str, object] = {"errors": [{"pointer": e.pointer, "detail": e.detail} for e in listed]}
    if count > len(listed):
        members["error_count"] = count
    return members


def pointer(*parts: int | str) -> str:
    """A JSON pointer from path segments, escaped as RFC 6901 says."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def invalid_fields(detail: str, errors: Iterable[FieldError], count: int | None = None) -> ProblemError:
    """A 422 listing the first MAX_FIELD_ERRORS errors; `count` when more were left out before."""
    listed, counted = bounded(errors)
    count = max(count or 0, counted)
    if count > len(listed):
        detail += f"; the first {len(listed)} of {count} errors are listed"
    return ProblemError("invalid-request", detail, listed, error_count=count)


def from_validation_error(error: ValidationError, body_read_natively: bool = False) -> ProblemError:
    """`body_read_natively`: the body was read as JSON first and validated as Python objects
    (app.contract.operations.parse); its errors are worded as for JSON all the same."""
    details = first_error_details(error, MAX_FIELD_ERRORS)
    if details[0]["type"] == "json_invalid":
        return ProblemError("malformed-json", details[0]["msg"])
    fields = [FieldError(pointer(*e["loc"]), worded(e, body_read_natively)) for e in details]
    return invalid_fields(f"{error.error_count()} invalid field(s)", fields, error.error_count())


def _messages_for_json() -> dict[str, str]:
    """The errors pydantic words differently when it reads JSON ("Input should be a valid array")
    than Python objects ("a valid list"), as pydantic-core itself renders them; a model's too
    ("an object", not "a valid dictionary or instance of Address"). Errors whose wording needs
    another context are none of the contract's."""
    messages = {}
    for error_type in typing.get_args(core_schema.ErrorType):
        try:
            python, json = _both_wordings(error_type, None)
        except TypeError:  # a context is required: a class name (a model's) is the one read here
            try:
                (python, json), (_, other_json) = (_both_wordings(error_type, {"class_name": n}) for n in "AB")
            except TypeError:
                continue
            if json != other_json:  # the JSON wording names the class: none of the contract's
                continue
        if python != json:
            messages[error_type] = json
    return messages


def _both_wordings(error_type: str, context: dict[str, Any] | None) -> tuple[str, str]:
    """How pydantic-core words an error of this type for Python objects and for JSON."""
    details = pydantic_core.InitErrorDetails(type=error_type, loc=(), input=None)
    if context is not None:
        details["ctx"] = context
    python, json = (
        ValidationError.from_exception_data("", [details], input_type=mode).errors()[0]["msg"]
        for mode in ("python", "json")
    )
    return python, json


MESSAGES_FOR_JSON = _messages_for_json()


def first_error_details(error: ValidationError, limit: int) -> list[Mapping[str, Any]]:
    """The first `limit` errors. A 2 MB body can hold 200,000 mistakes, and `errors()` would build
    them all as Python objects (126 MB for 205,000 unknown keys): past the limit they are read from
    the start of `json()`, which pydantic-core writes without making objects (17 MB)."""
    if error.error_count() <= limit:
        return list(error.errors(include_url=False, include_input=False))
    text = error.json(include_url=False, include_input=False, include_context=False)
    size = 64 * 1024
    while True:
        details: list[dict[str, Any]] = pydantic_core.from_json(text[:size], allow_partial=True)
        if len(details) > limit or size >= len(text):  # all but the last of a partial list are whole
            return [{**d, "loc": tuple(d["loc"])} for d in details[:limit]]  # as errors() gives it
        size *= 4


def patient_location_field_error(error: PatientLocationError) -> FieldError:
    return FieldError(pointer("patient", "location", error.field), error.unresolved.detail)


def from_patient_location_error(error: PatientLocationError) -> ProblemError:
    return invalid_fields("the patient's location cannot be resolved", [patient_location_field_error(error)])


def worded(error: Mapping[str, Any], read_natively: bool) -> str:
    """An error's detail; `read_natively`: the body was read as JSON first, and validated as Python
    objects, whose errors are worded as for JSON all the same."""
    return _json_message(error) if read_natively else _message(error)


def _json_message(error: Mapping[str, Any]) -> str:
    return MESSAGES_FOR_JSON.get(error["type"]) or _message(error)


def _message(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return error["msg"].removeprefix("Value error, ")
