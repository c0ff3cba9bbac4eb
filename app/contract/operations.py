"""The operations of the contract, from a request body to the answer's JSON-ready body.

The HTTP layer reads bodies and renders answers; the command line calls the same functions. Every
refusal is a ProblemError naming the fields at fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import TypeAdapter, ValidationError

from app.contract import presenters
from app.contract.audits import AuditSummary, SessionInput, audit_sessions, session_reports
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
)
from app.contract.unique_keys import NOT_READ, read_native, read_unique, refuse_duplicate_keys
from app.geography import Geography, load_geography
from app.geography.search import CommuneIndex
from app.territoriality.information_message import etht01_message
from app.territoriality.locations import commune_places
from app.territoriality.patients import PatientLocationError
from app.territoriality.policies import POLICIES, get_policy
from app.territoriality.ranking import rank_physicians
from app.territoriality.roster import commune_rows
from app.territoriality.rulings import Catalogue, load_catalogue
from app.territoriality.scenarios import evaluate_scenario

Body = TypeVar("Body")


@dataclass(frozen=True, eq=False)
class Reference:
    """What the operations judge with, loaded once at start-up: the geography, the rulings, and the
    commune search's index (optional: only GET /v1/communes needs it)."""

    geography: Geography
    catalogue: Catalogue
    communes: CommuneIndex | None = None

    @classmethod
    def load(cls, geodata_dir: Path) -> Reference:
        """Everything built before the first request, not during it: the tables the engine looks
        codes up in, the commune search's index."""
        geography = load_geography(geodata_dir)
        commune_places(geography)
        commune_rows(geography)
        return cls(geography, load_catalogue(), CommuneIndex.from_geodata(geography, geodata_dir))


def parse(body: bytes, adapter: TypeAdapter[Body], validate_the_text: bool = False) -> Body:
    """The body validated. When all is well it is read once, by jiter, and its document validated;
    at the first fault the standard library's reading, then pydantic's own, say what is wrong, as
    they always have: every refusal is worded from the JSON text (app/contract/unique_keys.py).

    `validate_the_text`: pydantic validates the text itself after jiter's checks (audits)."""
    if not validate_the_text:
        valid = _validated_document(body, adapter)
        if valid is not None:
            return valid
    elif read_unique(body) is not NOT_READ:
        return _validated_text(body, adapter)
    refuse_duplicate_keys(body)
    return _validated_text(body, adapter)


def _validated_document(body: bytes, adapter: TypeAdapter[Body]) -> Body | None:
    """jiter's document validated, or None at the first fault of either. A number beyond a double,
    read as infinity, is one: no field of the contract takes it (tests/contract/test_native_reading.py)."""
    document = read_native(body)
    if document is NOT_READ:
        return None
    try:
        return adapter.validate_python(document)
    except ValidationError:
        return None


def _validated_text(body: bytes, adapter: TypeAdapter[Body]) -> Body:
    try:
        return adapter.validate_json(body)
    except ValidationError as error:
        raise from_validation_error(error) from error


def rank(reference: Reference, body: bytes) -> tuple[dict[str, object], int]:
    """The ranking answer, and the number of physicians ranked."""
    request = parse(body, RANKING_REQUEST)
    roster = roster_of(request["physicians"])
    duplicates = duplicate_id_errors(roster.ids, pointer("physicians"))
    if duplicates:
        raise invalid_fields("physician ids must be unique", duplicates)
    policy = get_policy(policy_name(request))
    try:
        result = rank_physicians(reference.geography, patient_location(request), roster, policy, request.get("limit"))
    except PatientLocationError as error:
        raise from_patient_location_error(error) from error
    return presenters.ranking(result, reference.geography, etht01_message()), len(roster)


def rank_fhir(reference: Reference, body: bytes) -> FhirAnswer:
    """The ranking of a FHIR searchset Bundle of PractitionerRoles: the answer and its media type."""
    return rank_bundle(reference.geography, body)


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
    # The sessions are validated one by one, as Python objects, in any case. Validating the batch
    # from jiter's document as well left a worker 20 MB bigger 10 s after a 2 MB audit while probes
    # came in (make attack: 160-169 MB against 143 MB), its pages pinned by the objects allocated
    # meanwhile; the text read twice does not.
    batch = parse(body, AUDIT_BATCH, validate_the_text=True)
    summary = AuditSummary()
    summary.input_digest.update(body)
    sessions = (SessionInput(value, f"/sessions/{index}") for index, value in enumerate(batch["sessions"]))
    judged = audit_sessions(sessions, reference.geography, reference.catalogue, summary)
    reports = session_reports(result for _, result in judged)
    return {"sessions": reports, "summary": summary.report(reference.geography, reference.catalogue)}


def information_message() -> dict[str, object]:
    return dict(presenters.information_message(etht01_message()))


def policies() -> dict[str, object]:
    return {"policies": [presenters.policy_description(p) for p in POLICIES.values()]}


def rulings(reference: Reference) -> dict[str, object]:
    return presenters.catalogue(reference.catalogue)
