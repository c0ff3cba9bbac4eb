"""GET /v1/communes: the handler; the rules of the search are the contract's (app/contract/communes.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.contract import communes
from app.web.endpoints import json_response


async def search_communes(request: Request) -> Response:
    return json_response(communes.search(request.app.state.commune_index, request.query_params.multi_items()))
