"""The operations of the contract, from a request body to the answer's JSON-ready body.

The HTTP layer reads bodies and renders answers; the command line calls the same functions. Every
refusal is a ProblemError naming the fields at fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import pydantic_core
from pydantic import TypeAdapter, ValidationError

from app.contract import presenters
from app.contract.audits import REQUEST_BATCH, AuditSummary, SessionInput, audit_sessions, session_reports
from app.contract.bounded import BOUNDED_FROM, Reading, may_need_parts, text_validator, validated
from app.contract.fhir.operation import FhirAnswer, rank_bundle
from app.contract.problems import from_patient_location_error, from_validation_error, invalid_fields, pointer
from app.contract.requests import (
    AUDIT_BATCH,
    RANKING_REQUEST,
    SCENARIO_REQUEST,
    duplicate_id_errors,
    patient_location,
    policy_name,
    roster_of,
    scenario_consistency_errors,
    scenario_of,
    unpacked,
)
from app.contract.unique_keys import NOT_READ, read_checked, read_unique, refuse_duplicate_keys
from app.geography import Geography, load_geography
from app.territoriality.information_message import etht01_message
from app.territoriality.patients import PatientLocationError
from app.territoriality.policies import POLICIES, get_policy
from app.territoriality.ranking import rank_physicians
from app.territoriality.roster import commune_rows
from app.territoriality.rulings import Catalogue, load_catalogue
from app.territoriality.scenarios import evaluate_scenario

Body = TypeVar("Body")


@dataclass(frozen=True, eq=False)
class Reference:
    """What the operations judge with, loaded once at start-up: the geography and the rulings. (The
    commune search's index is built from the geography apart: `CommuneIndex`.)"""

    geography: Geography
    catalogue: Catalogue

    @classmethod
    def load(cls, geodata_dir: Path) -> Reference:
        """Everything the engine needs built before the first request, not during it: the geography,
        the tables it looks codes up in, the rulings."""
        geography = load_geography(geodata_dir)
        commune_rows(geography)
        return cls(geography, load_catalogue())


def parse(body: bytes, adapter: TypeAdapter[Body], validate_the_text: bool = False) -> Body:
    """The body validated. Read once, by jiter, when no repeated key, NaN or number beyond a double
    can be in it; otherwise checked first by the standard library, which names what is wrong, then
    read by pydantic's own JSON reader. Its document is validated as Python objects, errors worded as
    pydantic words them for JSON, each error holding the document's own value, not a copy (pydantic
    validating the text gives each error a copy of its input: a few errors on 2 MB of nested objects
    took a process 284 MB above its size). A body of more than BOUNDED_FROM bytes is validated in
    parts (app.contract.bounded), never holding more than about 20,000 errors at once.

    `validate_the_text`: pydantic validates the text itself, after the standard library's check alone
    (which names a repeated key, NaN or a number beyond a double, and keeps no value it reads: 36 ms
    and 2 MB at most for the heaviest audit, where jiter's document took 62 ms and 15 MB)."""
    document = NOT_READ if validate_the_text else read_unique(body)
    if document is NOT_READ:
        root_members = refuse_duplicate_keys(body)
        if not validate_the_text:
            document = read_checked(body)
    if document is not NOT_READ:
        return validated_document(adapter, document, len(body))
    big = len(body) > BOUNDED_FROM
    if big and may_need_parts(adapter, root_members) and (read := _read_for_parts(body)) is not NOT_READ:
        return cast(Body, validated(adapter, read, Reading(body)))
    try:
        return cast(Body, text_validator(adapter).validate_json(body))
    except ValidationError as error:
        raise from_validation_error(error) from error


def validated_document(adapter: TypeAdapter[Body], document: Any, size: int) -> Body:
    """A document read natively from `size` bytes, validated: in parts past BOUNDED_FROM."""
    if size > BOUNDED_FROM:
        return cast(Body, validated(adapter, document))
    try:
        return adapter.validate_python(document)
    except ValidationError as error:
        raise from_validation_error(error, body_read_natively=True) from error


def _read_for_parts(body: bytes) -> Any:
    """The document, to cut into parts, read by pydantic's own JSON reader: a member the parts leave
    out is never validated, and must still be one pydantic can read (a lone surrogate or nesting
    past its depth is not: the whole text, validated, then gets its one error, as always). NOT_READ
    then. (Repeated keys, NaN and numbers past a double were refused before.)"""
    try:
        return pydantic_core.from_json(body, cache_strings="keys")
    except ValueError:
        return NOT_READ


def rank(reference: Reference, body: bytes) -> tuple[dict[str, object], int]:
    """The ranking answer, and the number of physicians ranked."""
    request = parse(body, RANKING_REQUEST)
    roster = roster_of(request["physicians"])
    location, policy, limit = patient_location(request), get_policy(policy_name(request)), request.get("limit")
    del request  # its objects are freed before the engine's arrays are made (below)
    duplicates = duplicate_id_errors(roster.ids, pointer("physicians"))
    if duplicates:
        raise invalid_fields("physician ids must be unique", duplicates)
    try:
        result = rank_physicians(reference.geography, location, roster, policy, limit)
    except PatientLocationError as error:
        raise from_patient_location_error(error) from error
    return presenters.ranking(result, reference.geography, etht01_message()), len(roster)


def rank_fhir(reference: Reference, body: bytes, answer_limit: int | None = None) -> FhirAnswer:
    """The ranking of a FHIR searchset Bundle of PractitionerRoles: the answer and its media type;
    a 413 when the answer would hold more than `answer_limit` bytes."""
    return rank_bundle(reference.geography, body, answer_limit)


def evaluate(reference: Reference, body: bytes) -> dict[str, object]:
    request = parse(body, SCENARIO_REQUEST)
    inconsistent = scenario_consistency_errors(request)
    if inconsistent:
        raise invalid_fields("the proposals do not match the offers", inconsistent)
    try:
        result = evaluate_scenario(reference.geography, reference.catalogue, scenario_of(request))
    except PatientLocationError as error:
        raise from_patient_location_error(error) from error
    return presenters.evaluation(result)


def audit(reference: Reference, body: bytes) -> dict[str, object]:
    batch = parse(body, AUDIT_BATCH, validate_the_text=True)
    summary = AuditSummary()
    summary.input_digest.update(body)
    sessions = (
        SessionInput(unpacked(session), f"/sessions/{index}", size=len(session))
        for index, session in enumerate(batch["sessions"])
    )
    judged = audit_sessions(sessions, reference.geography, reference.catalogue, summary, REQUEST_BATCH)
    reports = session_reports(result for _, result in judged)
    return {"sessions": reports, "summary": summary.report(reference.geography, reference.catalogue)}


def information_message() -> dict[str, object]:
    return dict(presenters.information_message(etht01_message()))


def policies() -> dict[str, object]:
    return {"policies": [presenters.policy_description(p) for p in POLICIES.values()]}


def rulings(reference: Reference) -> dict[str, object]:
    return presenters.catalogue(reference.catalogue)
