"""A deliberately wrong deployment: keeps the input order, calls everyone territorial, and says
every scenario complies. The conformance kit must catch it."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def rankings(request: Request) -> JSONResponse:
    body = await request.json()
    ranking = [
        {
            "rank": i,
            "id": p["id"],
            "tier": "same_departement",
            "territorial": True,
            "distance_km": 0,
            "departement": "13",
        }
        for i, p in enumerate(body.get("physicians", []), start=1)
    ]
    return JSONResponse({"territoriality": {"applicable": True, "reason": None}, "ranking": ranking})


async def scenarios(request: Request) -> JSONResponse:
    return JSONResponse({"verdict": "compliant", "checks": []})


async def message(request: Request) -> JSONResponse:
    return JSONResponse({"requirement": "ETHT.01", "language": "fr", "text": "Votre localisation vous est demandée."})


app = Starlette(
    routes=[
        Route("/v1/rankings", rankings, methods=["POST"]),
        Route("/v1/scenario-evaluations", scenarios, methods=["POST"]),
        Route("/v1/information-message", message, methods=["GET"]),
    ]
)
