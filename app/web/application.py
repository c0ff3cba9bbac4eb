"""The ASGI application: routes as a list, middleware, error handlers, start-up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route

from app import resources
from app.contract import communes as commune_search
from app.contract.operations import Reference
from app.runtime import loading_what_lasts, stop_with_supervisor
from app.settings import Settings
from app.web import communes, demo, endpoints, metrics, sandbox
from app.web.middleware import (
    AccessLogMiddleware,
    ApiKeyMiddleware,
    ProbePortMiddleware,
    SecurityHeadersMiddleware,
)
from app.web.problems import EXCEPTION_HANDLERS
from app.web.protocol import report_accept_failures_quietly
from app.web.work import Work, keep_big_buffers_mapped

OPENAPI_FILE = resources.data_path("openapi.yaml")
ROUTES = [
    Route("/", endpoints.index, methods=["GET"]),
    Route("/healthz", endpoints.healthz, methods=["GET"]),
    Route("/readyz", endpoints.readyz, methods=["GET"]),
    Route("/openapi.yaml", endpoints.openapi_document, methods=["GET"]),
    Route("/v1/information-message", endpoints.get_information_message, methods=["GET"]),
    Route("/v1/policies", endpoints.list_policies, methods=["GET"]),
    Route("/v1/rankings", endpoints.create_ranking, methods=["POST"]),
    Route("/v1/rankings/fhir", endpoints.create_fhir_ranking, methods=["POST"]),
    Route("/v1/rulings", endpoints.list_rulings, methods=["GET"]),
    Route("/v1/scenario-evaluations", endpoints.create_scenario_evaluation, methods=["POST"]),
    Route("/v1/audits", endpoints.create_audit, methods=["POST"]),
    Route("/v1/communes", communes.search_communes, methods=["GET"]),
    Route("/metrics", metrics.metrics_endpoint, methods=["GET"]),
    *sandbox.ROUTES,
    *demo.ROUTES,
]


def middleware_for(settings: Settings) -> list[Middleware]:
    """Outermost first: every response, refusals included, is logged and carries the headers."""
    stack = [Middleware(AccessLogMiddleware), Middleware(SecurityHeadersMiddleware)]
    if settings.probe_port is not None:
        stack.append(Middleware(ProbePortMiddleware, probe_port=settings.probe_port))
    if settings.cors_origins:
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Content-Type", "X-API-Key", "X-Request-ID"],
                expose_headers=["X-Request-ID"],
            )
        )
    if settings.api_keys:
        stack.append(Middleware(ApiKeyMiddleware, keys=settings.api_keys))
    return stack


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_environ()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop_with_supervisor()
        keep_big_buffers_mapped()
        work = Work(settings.max_queued_bytes, settings.compute_threads, settings.max_answer_bytes)
        report_accept_failures_quietly(asyncio.get_running_loop())
        with loading_what_lasts():
            reference = Reference.load(settings.geodata_dir)
            build_search_index = commune_search.index_builder(reference.geography, settings.geodata_dir)
        search_index = communes.IndexBuiltInTheBackground(build_search_index)
        app.state.service = endpoints.Service(settings, reference, work, search_index)
        keepers = [
            asyncio.create_task(work.keep_memory_returned()),
            asyncio.create_task(work.keep_held_reported(metrics.record_held)),
        ]
        yield
        for keeper in keepers:
            keeper.cancel()
        metrics.forget_this_worker()
        work.close()

    app = Starlette(
        routes=ROUTES, middleware=middleware_for(settings), exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan
    )
    app.state.openapi_yaml = OPENAPI_FILE.read_bytes()
    return app
