"""The reference booking page at /demo: plain HTML, CSS and a small script, all served from here.

It walks the compliant path (ETHT.01 message, location field or its refusal, territorial ranking,
verdict) by calling this service's own API from the browser. Under the sandbox's strict CSP: no
inline script, no asset from elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

HERE = Path(__file__).resolve().parent


async def page(request: Request) -> Response:
    return FileResponse(HERE / "index.html", media_type="text/html")


async def script(request: Request) -> Response:
    return FileResponse(HERE / "demo.js", media_type="text/javascript")


async def stylesheet(request: Request) -> Response:
    return FileResponse(HERE / "demo.css", media_type="text/css")


ROUTES = [
    Route("/demo", page, methods=["GET"]),
    Route("/demo/demo.js", script, methods=["GET"]),
    Route("/demo/demo.css", stylesheet, methods=["GET"]),
]
