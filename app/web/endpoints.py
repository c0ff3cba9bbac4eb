"""Route handlers: read the request, call the domain, present the result. No rule lives here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pydantic_core
from starlette.requests import Request
from starlette.responses import Response

from app import __version__
from app.conformance.audit import AuditSummary, judge_session, session_report
from app.geography import Geography
from app.settings import Settings
from app.territoriality.information_message import etht01_message
from app.territoriality.policies import POLICIES, get_policy
from app.territoriality.ranking import rank_physicians
from app.territoriality.rulings import Catalogue
from app.territoriality.scenarios import evaluate_scenario
from app.web import presenters
from app.web.problems import FieldError, ProblemError
from app.web.requests import parse_json, read_body, read_json
from app.web.schemas import AuditBatch, RankingRequest, ScenarioRequest

OPENAPI_FILE = Path(__file__).resolve().parent.parent.parent / "openapi.yaml"


@dataclass(frozen=True)
class Service:
    """What every handler needs, built once at start-up and kept in app.state."""

    settings: Settings
    geography: Geography
    catalogue: Catalogue


def json_response(body: object, status_code: int = 200) -> Response:
    return Response(pydantic_core.to_json(body), status_code=status_code, media_type="application/json")


def service_of(request: Request) -> Service:
    return request.app.state.service


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok", "version": __version__})


async def readyz(request: Request) -> Response:
    service: Service | None = getattr(request.app.state, "service", None)
    if service is None:
        return json_response({"status": "loading"}, status_code=503)
    return json_response({"status": "ready", "version": __version__, "geodata": service.geography.vintage})


async def openapi_document(request: Request) -> Response:
    return Response(request.app.state.openapi_yaml, media_type="application/yaml")


async def get_information_message(request: Request) -> Response:
    return json_response(presenters.information_message(etht01_message()))


async def list_policies(request: Request) -> Response:
    return json_response({"policies": [presenters.policy_description(p) for p in POLICIES.values()]})


async def create_ranking(request: Request) -> Response:
    service = service_of(request)
    body = await read_json(request, RankingRequest, service.settings.max_body_bytes)
    duplicates = body.consistency_errors()
    if duplicates:
        raise ProblemError("invalid-request", "physician ids must be unique", [FieldError(*d) for d in duplicates])
    result = rank_physicians(
        service.geography,
        body.patient_location(),
        [p.to_domain() for p in body.physicians],
        get_policy(body.policy),
        body.limit,
    )
    request.state.ranking_size = len(body.physicians)
    return json_response(presenters.ranking(result, service.geography, etht01_message()))


async def list_rulings(request: Request) -> Response:
    return json_response(presenters.catalogue(service_of(request).catalogue))


async def create_scenario_evaluation(request: Request) -> Response:
    service = service_of(request)
    body = await read_json(request, ScenarioRequest, service.settings.max_body_bytes)
    inconsistent = body.consistency_errors()
    if inconsistent:
        raise ProblemError(
            "invalid-request", "the proposals do not match the offers", [FieldError(*e) for e in inconsistent]
        )
    result = evaluate_scenario(service.geography, service.catalogue, body.to_domain())
    return json_response(presenters.evaluation(result))


async def create_audit(request: Request) -> Response:
    service = service_of(request)
    raw = await read_body(request, service.settings.max_body_bytes)
    batch = parse_json(raw, AuditBatch)
    summary = AuditSummary()
    summary.input_digest.update(raw)
    reports = []
    for index, session in enumerate(batch.sessions):
        result = judge_session(session, service.geography, service.catalogue, pointer=f"/sessions/{index}")
        summary.add(result)
        reports.append(session_report(result))
    return json_response({"sessions": reports, "summary": summary.report(service.geography, service.catalogue)})
