"""Route handlers: read the request, call the contract's operation, render the answer. No rule lives here."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pydantic_core
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app import __version__
from app.contract import operations
from app.contract.operations import Reference
from app.settings import Settings
from app.web.requests import check_media_type, declared_size, ensure_connected, read_body
from app.web.work import Work

if TYPE_CHECKING:
    from app.web.communes import IndexBuiltInTheBackground


@dataclass(frozen=True)
class Service:
    """What every handler needs, built once at start-up and kept in app.state."""

    settings: Settings
    reference: Reference
    work: Work
    communes: IndexBuiltInTheBackground


def json_response(body: object, status_code: int = 200) -> Response:
    return Response(pydantic_core.to_json(body), status_code=status_code, media_type="application/json")


def service_of(request: Request) -> Service:
    return request.app.state.service


async def index(request: Request) -> Response:
    links = {"docs": "/docs", "openapi": "/openapi.yaml", "health": "/healthz"}
    return json_response({"name": "territorialite", "version": __version__, "links": links})


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok", "version": __version__})


SEARCH_INDEX_FAILED = "the commune search's index could not be built: see the log"


async def readyz(request: Request) -> Response:
    service: Service | None = getattr(request.app.state, "service", None)
    if service is None:
        return json_response({"status": "loading"}, status_code=503)
    if service.communes.failed:  # a defect: out of the load balancer, and the rollout stops
        return json_response({"status": "failed", "detail": SEARCH_INDEX_FAILED}, status_code=503)
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
    def rank(reference: Reference, body: bytes) -> Answer:
        answer, size = operations.rank(reference, body)
        return answer, size, JSON

    return await compute(request, rank)


async def create_fhir_ranking(request: Request) -> Response:
    answer_limit = service_of(request).settings.max_answer_bytes

    def rank_fhir(reference: Reference, body: bytes) -> Answer:
        answer = operations.rank_fhir(reference, body, answer_limit)
        return answer.body, answer.roles, answer.media_type

    return await compute(request, rank_fhir)


async def create_scenario_evaluation(request: Request) -> Response:
    def evaluate(reference: Reference, body: bytes) -> Answer:
        return operations.evaluate(reference, body), None, JSON

    return await compute(request, evaluate)


async def create_audit(request: Request) -> Response:
    def audit(reference: Reference, body: bytes) -> Answer:
        return operations.audit(reference, body), None, JSON

    return await compute(request, audit)


JSON = "application/json"
Answer = tuple[object, int | None, str]  # the answer's body, the physicians ranked if any, its media type
Operation = Callable[[Reference, bytes], Answer]


async def compute(request: Request, operation: Operation) -> Response:
    """Admit the request, read its body, and run the operation: on a compute thread (app.web.work)
    unless the body is small enough for the event loop."""
    service = service_of(request)
    settings = service.settings
    check_media_type(request)
    with service.work.admitted(declared_size(request, settings.max_body_bytes)):
        body = await read_body(request, settings)
        work = functools.partial(answer_bytes, operation, service.reference, body, settings.max_answer_bytes)
        if len(body) <= settings.inline_body_bytes:  # milliseconds at most: cheaper than a thread hop
            content, ranking_size, media_type = work()
        else:
            content, ranking_size, media_type = await service.work.run(
                work, functools.partial(ensure_connected, request)
            )
    request.state.ranking_size = ranking_size
    return HeldAnswer(content, media_type, service.work.answer_held(len(content)))


class HeldAnswer(Response):
    """An answer that holds its bytes in the worker's count (app.web.work) until it is handed to its
    connection; from there, what the kernel has not taken counts (app.web.protocol)."""

    def __init__(self, content: bytes, media_type: str, release: Callable[[], None]) -> None:
        super().__init__(content, media_type=media_type)
        self.release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.release()


def answer_bytes(
    operation: Operation, reference: Reference, body: bytes, max_bytes: int
) -> tuple[bytes, int | None, str]:
    answer, ranking_size, media_type = operation(reference, body)
    content = pydantic_core.to_json(answer)
    if len(content) > max_bytes:  # no valid request comes near: a defect, not the client's fault
        raise AnswerTooLargeError(len(content))
    return content, ranking_size, media_type


class AnswerTooLargeError(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"an answer of {size} bytes, over TERRITORIALITE_MAX_ANSWER_BYTES")
