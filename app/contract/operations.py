"""The operations of the contract, from a request body to the answer's JSON-ready body.

The HTTP layer reads bodies and renders answers; the command line calls the same functions. Every
refusal is a ProblemError naming the fields at fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from app.contract import presenters
from app.contract.audits import AuditSummary, SessionInput, audit_sessions, session_reports
from app.contract.problems import from_patient_location_error, from_validation_error, invalid_fields
from app.contract.requests import AuditBatch, RankingRequest, ScenarioRequest
from app.contract.unique_keys import refuse_duplicate_keys
from app.geography import Geography
from app.territoriality.information_message import etht01_message
from app.territoriality.patients import PatientLocationError
from app.territoriality.policies import POLICIES, get_policy
from app.territoriality.ranking import rank_physicians
from app.territoriality.rulings import Catalogue
from app.territoriality.scenarios import evaluate_scenario

Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True, eq=False)
class Reference:
    """What the operations judge with, loaded once at start-up: the geography and the rulings."""

    geography: Geography
    catalogue: Catalogue


def parse(body: bytes, model: type[Model]) -> Model:
    refuse_duplicate_keys(body)
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise from_validation_error(error) from error


def rank(reference: Reference, body: bytes) -> tuple[dict[str, object], int]:
    """The ranking answer, and the number of physicians ranked."""
    request = parse(body, RankingRequest)
    duplicates = request.consistency_errors()
    if duplicates:
        raise invalid_fields("physician ids must be unique", duplicates)
    try:
        result = rank_physicians(
            reference.geography,
            request.patient_location(),
            [p.to_domain() for p in request.physicians],
            get_policy(request.policy),
            request.limit,
        )
    except PatientLocationError as error:
        raise from_patient_location_error(error) from error
    return presenters.ranking(result, reference.geography, etht01_message()), len(request.physicians)


def evaluate(reference: Reference, body: bytes) -> dict[str, object]:
    request = parse(body, ScenarioRequest)
    inconsistent = request.consistency_errors()
    if inconsistent:
        raise invalid_fields("the proposals do not match the offers", inconsistent)
    try:
        result = evaluate_scenario(reference.geography, reference.catalogue, request.to_domain())
    except PatientLocationError as error:
        raise from_patient_location_error(error) from error
    return presenters.evaluation(result)


def audit(reference: Reference, body: bytes) -> dict[str, object]:
    batch = parse(body, AuditBatch)
    summary = AuditSummary()
    summary.input_digest.update(body)
    sessions = (SessionInput(value, f"/sessions/{index}") for index, value in enumerate(batch.sessions))
    judged = audit_sessions(sessions, reference.geography, reference.catalogue, summary)
    reports = session_reports(result for _, result in judged)
    return {"sessions": reports, "summary": summary.report(reference.geography, reference.catalogue)}


def information_message() -> dict[str, object]:
    return dict(presenters.information_message(etht01_message()))


def policies() -> dict[str, object]:
    return {"policies": [presenters.policy_description(p) for p in POLICIES.values()]}


def rulings(reference: Reference) -> dict[str, object]:
    return presenters.catalogue(reference.catalogue)
