"""Problem details (RFC 9457) as data: the kinds of refusal, their status and title, and field
errors with JSON pointers (RFC 6901) into the request. The HTTP layer only renders them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from app.territoriality.patients import PatientLocationError

TYPE_PREFIX = "urn:territorialite:problem:"

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
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    parameters: list[ParameterError] = field(default_factory=list)  # query-string parameters at fault

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
            body["errors"] = [{"pointer": e.pointer, "detail": e.detail} for e in self.errors]
        if self.parameters:
            body["errors"] = [
                *body.get("errors", []),  # type: ignore[misc]
                *({"parameter": e.parameter, "detail": e.detail} for e in self.parameters),
            ]
        return body


def pointer(*parts: int | str) -> str:
    """A JSON pointer from path segments, escaped as RFC 6901 says."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def invalid_fields(detail: str, errors: Iterable[FieldError]) -> ProblemError:
    return ProblemError("invalid-request", detail, list(errors))


def from_validation_error(error: ValidationError) -> ProblemError:
    if any(e["type"] == "json_invalid" for e in error.errors()):
        return ProblemError("malformed-json", error.errors()[0]["msg"])
    errors = [FieldError(pointer(*e["loc"]), _message(e)) for e in error.errors(include_url=False, include_input=False)]
    return invalid_fields(f"{len(errors)} invalid field(s)", errors)


def patient_location_field_error(error: PatientLocationError) -> FieldError:
    return FieldError(pointer("patient", "location", error.field), error.unresolved.detail)


def from_patient_location_error(error: PatientLocationError) -> ProblemError:
    return invalid_fields("the patient's location cannot be resolved", [patient_location_field_error(error)])


def _message(error: ErrorDetails) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return error["msg"].removeprefix("Value error, ")
