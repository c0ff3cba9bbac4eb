"""The floor of this stack: Starlette on uvicorn, parsing the same JSON body and returning it.
Nothing a real endpoint could do costs less than this."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def echo(request: Request) -> Response:
    body = json.loads(await request.body())
    return Response(json.dumps(body), media_type="application/json")


async def healthz(request: Request) -> Response:
    """The same small JSON as the service's GET /healthz: the stack alone, no operation."""
    return Response(json.dumps({"status": "ok", "version": "0"}), media_type="application/json")


app = Starlette(
    routes=[
        *(Route(path, echo, methods=["POST"]) for path in ("/v1/rankings", "/v1/scenario-evaluations")),
        Route("/healthz", healthz),
    ]
)
