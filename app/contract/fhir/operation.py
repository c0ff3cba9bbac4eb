"""POST /v1/rankings/fhir, from the request body to the answer: read the Bundle into a roster, rank it
with the one engine (rank_physicians), answer in the format asked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pydantic_core
from pydantic import ValidationError

from app.contract.fhir import answers
from app.contract.fhir.models import UNION_TAGS, FhirRankingRequest
from app.contract.fhir.roster import read_roster
from app.contract.limits import MAX_FIELD_ERRORS
from app.contract.problems import (
    FieldError,
    ProblemError,
    first_error_details,
    from_patient_location_error,
    invalid_fields,
    pointer,
)
from app.contract.requests import location_of
from app.contract.unique_keys import refuse_duplicate_keys
from app.geography import Geography
from app.territoriality.information_message import etht01_message
from app.territoriality.patients import PatientLocationError
from app.territoriality.policies import get_policy
from app.territoriality.ranking import PhysicianInput, rank_physicians

FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True, slots=True)
class FhirAnswer:
    body: dict[str, Any]
    media_type: str
    roles: int  # how many PractitionerRoles were ranked


def rank_bundle(geography: Geography, body: bytes) -> FhirAnswer:
    raw, request = parse(body)
    candidates = read_roster(geography, request.bundle)
    roster = [PhysicianInput(str(index), candidate.location) for index, candidate in enumerate(candidates)]
    try:
        result = rank_physicians(
            geography, location_of(request.patient), roster, get_policy(request.policy), request.limit
        )
    except PatientLocationError as error:
        raise from_patient_location_error(error) from error
    message = etht01_message()
    if request.format == "bundle":
        return FhirAnswer(answers.bundle(raw["bundle"], result, candidates, message), FHIR_JSON, len(candidates))
    return FhirAnswer(answers.ranking(result, candidates, geography, message), "application/json", len(candidates))


def parse(body: bytes) -> tuple[dict[str, Any], FhirRankingRequest]:
    """The request as the model and, for the `bundle` format only, as plain JSON (that format returns
    the resources as they were sent, unknown elements included)."""
    refuse_duplicate_keys(body)
    try:
        request = FhirRankingRequest.model_validate_json(body)
    except ValidationError as error:
        raise _invalid(error) from error
    return (pydantic_core.from_json(body) if request.format == "bundle" else {}), request


def _invalid(error: ValidationError) -> ProblemError:
    details = first_error_details(error, MAX_FIELD_ERRORS)  # the rest only counted
    if details[0]["type"] == "json_invalid":
        return ProblemError("malformed-json", details[0]["msg"])
    errors = [
        FieldError(
            pointer(*(step for step in e["loc"] if step not in UNION_TAGS)),
            "unknown field" if e["type"] == "extra_forbidden" else e["msg"].removeprefix("Value error, "),
        )
        for e in details
    ]
    return invalid_fields(f"{error.error_count()} invalid field(s)", errors, error.error_count())
