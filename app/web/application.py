"""The ASGI application: routes as a list, middleware, error handlers, start-up."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Route

from app.geography import load_geography
from app.settings import Settings
from app.web import endpoints
from app.web.problems import EXCEPTION_HANDLERS

ROUTES = [
    Route("/healthz", endpoints.healthz, methods=["GET"]),
    Route("/readyz", endpoints.readyz, methods=["GET"]),
    Route("/openapi.yaml", endpoints.openapi_document, methods=["GET"]),
    Route("/v1/information-message", endpoints.get_information_message, methods=["GET"]),
    Route("/v1/policies", endpoints.list_policies, methods=["GET"]),
    Route("/v1/rankings", endpoints.create_ranking, methods=["POST"]),
]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_environ()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.service = endpoints.Service(settings, load_geography(settings.geodata_dir))
        yield

    app = Starlette(routes=ROUTES, exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan)
    app.state.openapi_yaml = endpoints.OPENAPI_FILE.read_bytes()
    return app
