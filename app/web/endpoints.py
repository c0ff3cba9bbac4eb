"""Route handlers: read the request, call the contract's operation, render the answer. No rule lives here."""

from __future__ import annotations

from dataclasses import dataclass

import pydantic_core
from starlette.requests import Request
from starlette.responses import Response

from app import __version__
from app.contract import operations
from app.contract.operations import Reference
from app.settings import Settings
from app.web.requests import read_body


@dataclass(frozen=True)
class Service:
    """What every handler needs, built once at start-up and kept in app.state."""

    settings: Settings
    reference: Reference


def json_response(body: object, status_code: int = 200) -> Response:
    return Response(pydantic_core.to_json(body), status_code=status_code, media_type="application/json")


def service_of(request: Request) -> Service:
    return request.app.state.service


async def index(request: Request) -> Response:
    links = {"docs": "/docs", "openapi": "/openapi.yaml", "health": "/healthz"}
    return json_response({"name": "territorialite", "version": __version__, "links": links})


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok", "version": __version__})


async def readyz(request: Request) -> Response:
    service: Service | None = getattr(request.app.state, "service", None)
    if service is None:
        return json_response({"status": "loading"}, status_code=503)
    return json_response({"status": "ready", "version": __version__, "geodata": service.reference.geography.vintage})


async def openapi_document(request: Request) -> Response:
    return Response(request.app.state.openapi_yaml, media_type="application/yaml")


async def get_information_message(request: Request) -> Response:
    return json_response(operations.information_message())


async def list_policies(request: Request) -> Response:
    return json_response(operations.policies())


async def list_rulings(request: Request) -> Response:
    return json_response(operations.rulings(service_of(request).reference))


async def create_ranking(request: Request) -> Response:
    service = service_of(request)
    answer, size = operations.rank(service.reference, await read_body(request, service.settings.max_body_bytes))
    request.state.ranking_size = size
    return json_response(answer)


async def create_fhir_ranking(request: Request) -> Response:
    service = service_of(request)
    answer = operations.rank_fhir(service.reference, await read_body(request, service.settings.max_body_bytes))
    request.state.ranking_size = answer.roles
    return Response(pydantic_core.to_json(answer.body), media_type=answer.media_type)


async def create_scenario_evaluation(request: Request) -> Response:
    service = service_of(request)
    body = await read_body(request, service.settings.max_body_bytes)
    return json_response(operations.evaluate(service.reference, body))


async def create_audit(request: Request) -> Response:
    service = service_of(request)
    body = await read_body(request, service.settings.max_body_bytes)
    return json_response(operations.audit(service.reference, body))
