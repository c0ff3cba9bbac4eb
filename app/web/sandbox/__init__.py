"""The interactive sandbox at /docs: Swagger UI from the swagger-ui-py package's own assets."""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from app import resources

HERE = resources.package_file("app.web", "sandbox")
SWAGGER_UI_ASSETS = Path(swagger_ui.__file__).resolve().parent / "static"


async def index(request: Request) -> Response:
    return FileResponse(HERE / "index.html", media_type="text/html")


async def script(request: Request) -> Response:
    return FileResponse(HERE / "sandbox.js", media_type="text/javascript")


ROUTES = [
    Route("/docs", index, methods=["GET"]),
    Route("/docs/sandbox.js", script, methods=["GET"]),
    Mount("/docs/static", app=StaticFiles(directory=SWAGGER_UI_ASSETS), name="swagger-ui"),
]
