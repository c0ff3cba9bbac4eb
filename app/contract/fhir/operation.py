"""POST /v1/rankings/fhir, from the request body to the answer: read the Bundle into a roster, rank it
with the one engine (rank_physicians), answer in the format asked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import pydantic_core
from pydantic import ValidationError
from pydantic_core import CoreConfig

from app.contract.bounded import failing_fast_validator, trimmed, trimmed_within
from app.contract.fhir import answers
from app.contract.fhir.models import FhirRankingRequest, json_steps
from app.contract.fhir.roster import Candidate, read_roster
from app.contract.limits import MAX_FIELD_ERRORS
from app.contract.problems import (
    FieldError,
    ProblemError,
    first_error_details,
    from_patient_location_error,
    invalid_fields,
    pointer,
    worded,
)
from app.contract.requests import Patient, location_of
from app.contract.unique_keys import NOT_READ, read_checked, read_unique, refuse_duplicate_keys
from app.geography import Geography
from app.territoriality.information_message import etht01_message
from app.territoriality.locations import LocationInput
from app.territoriality.patients import PatientLocationError
from app.territoriality.policies import Policy, get_policy
from app.territoriality.ranking import RosterInput, rank_physicians

FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True, slots=True)
class FhirAnswer:
    body: dict[str, Any]
    media_type: str
    roles: int  # how many PractitionerRoles were ranked


def rank_bundle(geography: Geography, body: bytes, answer_limit: int | None = None) -> FhirAnswer:
    """`answer_limit`: the most bytes the answer may hold, serialised (a 413 beyond); None: any."""
    read = _read(geography, body)
    candidates = read.candidates
    roster = RosterInput(
        [str(i) for i in range(len(candidates))],
        [c.location.commune for c in candidates],
        [c.location.postal_code for c in candidates],
        [c.location.coordinates for c in candidates],
    )
    try:
        result = rank_physicians(geography, read.patient, roster, read.policy, read.limit)
    except PatientLocationError as error:
        raise from_patient_location_error(error) from error
    message = etht01_message()
    if read.format == "bundle":  # the resources go back as they were sent, unknown elements included
        answer = answers.bundle(read.document["bundle"], result, candidates, read.duplicate_of, message)
        if answer_limit is not None and _bundle_may_exceed(answer_limit, answer, len(body), len(candidates)):
            _refuse_an_answer_over(answer_limit, answers.bundle_parts(answer))
        return FhirAnswer(answer, FHIR_JSON, len(candidates))
    answer = answers.ranking(result, candidates, geography, message)
    if answer_limit is not None:
        _refuse_an_answer_over(answer_limit, answers.ranking_parts(answer))
    return FhirAnswer(answer, "application/json", len(candidates))


# An answer says what it says of a shared resource once for each role using it (an Organization's
# name in each ranked role, a warning about its address in each of its roles'): one name of 1 MB and
# 250 roles made an answer of 250 MB, serialised whole before the service's size check (a 500, and a
# worker at 600 MiB). The answer is measured a part at a time (a role, a warning, an entry) first.
ANSWER_ENVELOPE_BYTES = 1024  # what joins the parts: brackets, commas, the lists' names


# A Bundle answer is the Bundle sent, each entry once, with a score per role and the warnings: what
# it sends back of the body is at most NUMBER_GROWTH times the body (a number sent as 1e15, 4 bytes,
# is written back as 1000000000000000.0, 18; no other JSON grows when written again), a role's score
# at most SCORE_BYTES (475-487 measured on the bench's roles). Only when that bound and the warnings
# could exceed the limit is every entry measured (15 ms for the bench's 1,000 roles, the time of
# serialising them).
NUMBER_GROWTH = 5
SCORE_BYTES = 1024


def _bundle_may_exceed(limit: int, answer: dict[str, Any], body_size: int, roles: int) -> bool:
    warnings = sum(len(pydantic_core.to_json(issue)) for issue in answers.outcome_issues(answer))
    return NUMBER_GROWTH * body_size + SCORE_BYTES * roles + warnings + ANSWER_ENVELOPE_BYTES > limit


def _refuse_an_answer_over(limit: int, parts: Iterable[object]) -> None:
    size = ANSWER_ENVELOPE_BYTES
    for part in parts:
        size += len(pydantic_core.to_json(part)) + 1
        if size > limit:
            raise ProblemError(
                "answer-too-large",
                f"the answer would hold more than {limit:,} bytes, the most this service sends: each ranked"
                " role brings its entry, its score and what the Bundle says of the resources it uses (a"
                " name, identifiers, warnings); rank fewer roles (`limit`)",
            )


@dataclass(frozen=True, slots=True)
class _Read:
    """What the ranking needs of a request, without its Bundle's validated objects (a 2 MB body:
    1.1 MB of them), gone before the answer is built; and the body's document, whose resources a
    Bundle answer returns as they were sent."""

    patient: LocationInput | None
    policy: Policy
    limit: int | None
    format: str
    candidates: list[Candidate]
    duplicate_of: Mapping[int, int]  # entry -> the earlier entry it repeats
    document: Any


def _read(geography: Geography, body: bytes) -> _Read:
    request, document = parse(body)
    candidates, index = read_roster(geography, request.bundle)
    return _Read(
        location_of(request.patient),
        get_policy(request.policy),
        request.limit,
        request.format,
        candidates,
        index.duplicate_of,
        document,
    )


# A FHIR body's errors are all listed and counted up to this size only. Each wrong item of a list
# costs pydantic an error or more (a resource's union says it again per branch), about 0.5 KB each,
# all built before it answers (it cannot stop at a number of errors: pydantic/pydantic issue 8242):
# 2 MB of `"identifier": [0, 0, ...]` took a worker to 1.2 GB, of `"contained": [...]` to 2.5 GB.
# 16 KiB hold at most about 20,000 errors (10 MB).
EVERY_ERROR_UP_TO = 16 * 1024


def parse(body: bytes) -> tuple[FhirRankingRequest, Any]:
    """The request validated with every list stopping at its first wrong item (otherwise the same
    schema: the same value for a valid body). A wrong body up to EVERY_ERROR_UP_TO is validated
    again whole, all its errors counted; a bigger one is answered with those found so far, the
    unknown members of its top level and of its patient's objects past the first MAX_FIELD_ERRORS
    of each counted, not validated. With the request, the body's document.

    The body is read as every body is (app.contract.unique_keys) and its document validated as
    Python objects, errors worded as for JSON: an error then holds the document's own value, where
    pydantic validating the text gives each error a copy of its input (a few errors on 2 MB of
    nested objects took a worker to 436-525 MiB)."""
    document = read_unique(body)
    if document is NOT_READ:
        refuse_duplicate_keys(body)
        document = read_checked(body)
    if document is NOT_READ:  # not JSON to pydantic's reader: validating the text says why
        try:
            FhirRankingRequest.model_validate_json(body)
        except ValidationError as error:
            raise _invalid(error) from None
        raise AssertionError("pydantic validated a text its own reader could not read")
    _refuse_dense(body, document)
    big = len(body) > EVERY_ERROR_UP_TO
    root, left_out = _trimmed(document) if big else (document, 0)
    try:
        return cast(FhirRankingRequest, _FAILING_FAST.validate_python(root)), document
    except ValidationError as error:
        if big:
            raise _invalid(error, stopped_early=True, left_out=left_out) from None
    try:
        return FhirRankingRequest.model_validate(document), document
    except ValidationError as error:
        raise _invalid(error) from None


# Each JSON object of a FHIR body may become a validated model of about 580 bytes (tracemalloc: 576
# for an Address validated from `{}`, 3 bytes of body): 2 MB of `"address": [{}, {}, ...]` in an
# Organization built 650,000 of them and took a worker to 524 MiB. A directory's bundle holds one
# object per 73 to 79 bytes (the IG's examples in tests/fixtures/fhir, compacted: 77-79; the bench's
# 1,000 practice sites: 25,004 in 1.8 MB); a body of more than MANY_OBJECTS holding more than one
# per OBJECT_BYTES is refused (project choice: at most 65,536 objects, about 38 MB of models, in 2 MiB).
MANY_OBJECTS = 20_000
OBJECT_BYTES = 32


def _refuse_dense(body: bytes, document: Any) -> None:
    """A 413 when the document holds more objects than allowed: counted only when the body has more
    `{` than that (every object opens with one; a string may hold more). The document, read before
    (its 400s first), is what remains of such a body: 47 MB for 650,000 empty objects (tracemalloc), no model."""
    allowed = max(MANY_OBJECTS, len(body) // OBJECT_BYTES)
    if body.count(b"{") <= allowed:
        return
    objects = _objects_in(document)
    if objects > allowed:
        raise ProblemError(
            "payload-too-large",
            f"the body holds {objects:,} JSON objects: more than {MANY_OBJECTS:,} and more than one per"
            f" {OBJECT_BYTES} bytes ({allowed:,} for its {len(body):,} bytes)",
        )


def _objects_in(document: Any) -> int:
    objects, values = 0, [document]
    while values:
        value = values.pop()
        if type(value) is dict:
            objects += 1
            values.extend(value.values())
        elif type(value) is list:
            values.extend(value)
    return objects


def _trimmed(document: Any) -> tuple[Any, int]:
    """The request with its own members and its first MAX_FIELD_ERRORS unknown ones, its patient's
    objects likewise (each member left out is one more 'unknown field' error, after those kept:
    counted, never listed), and how many were left out. The Bundle's elements ignore what they do
    not read."""
    if not isinstance(document, dict):
        return document, 0
    kept = trimmed(document, FhirRankingRequest.model_fields, MAX_FIELD_ERRORS)
    left_out = len(document) - len(kept)
    if "patient" in kept:
        kept["patient"], dropped = trimmed_within(kept["patient"], Patient)
        left_out += dropped
    return kept, left_out


# At import, before the service starts a thread (failing_fast_validator says why); set as pydantic
# sets the model's own validator: the model schema's config (strict, no unknown member, no value kept
# in a string cache).
_FHIR_SCHEMA = FhirRankingRequest.__pydantic_core_schema__
_FAILING_FAST = failing_fast_validator(_FHIR_SCHEMA, CoreConfig(**_FHIR_SCHEMA["schema"]["config"]))


def _invalid(error: ValidationError, stopped_early: bool = False, left_out: int = 0) -> ProblemError:
    """The errors, each at its element, the first MAX_FIELD_ERRORS of them (the rest counted); the
    name of a resource's branch leaves the pointers. `stopped_early`: each list was read up to its
    first wrong item only, and the detail says so; `left_out`: unknown members counted."""
    found = first_error_details(error, MAX_FIELD_ERRORS)
    if found[0]["type"] == "json_invalid":
        return ProblemError("malformed-json", found[0]["msg"])
    errors = [FieldError(pointer(*json_steps(e["loc"])), worded(e, read_natively=True)) for e in found]
    count = error.error_count() + left_out
    if stopped_early:
        detail = (
            f"{count} invalid field(s) found, each list read up to its first wrong item"
            f" (the body is over {EVERY_ERROR_UP_TO // 1024} KiB)"
        )
        return invalid_fields(detail, errors, count)
    return invalid_fields(f"{count} invalid field(s)", errors, count)
