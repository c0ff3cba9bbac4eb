"""GET /v1/communes: the handler; the rules of the search are the contract's (app/contract/communes.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.contract import communes
from app.web.endpoints import json_response, service_of


async def search_communes(request: Request) -> Response:
    reference = service_of(request).reference
    return json_response(communes.search(reference.communes, request.query_params.multi_items()))
