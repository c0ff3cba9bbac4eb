"""The interactive sandbox at /docs: Swagger UI from the swagger-ui-py package's own assets."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from app import resources

HERE = resources.package_file("app.web", "sandbox")


def swagger_ui_assets() -> Path:
    """The swagger-ui-py package's assets, found without importing it: its import brings jinja2,
    15 ms of a worker's start (python -X importtime), for a folder of static files."""
    spec = find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise resources.MissingResourceError("the swagger-ui-py package is missing: reinstall territorialite")
    return Path(spec.origin).resolve().parent / "static"


SWAGGER_UI_ASSETS = swagger_ui_assets()


async def index(request: Request) -> Response:
    return FileResponse(HERE / "index.html", media_type="text/html")


async def script(request: Request) -> Response:
    return FileResponse(HERE / "sandbox.js", media_type="text/javascript")


ROUTES = [
    Route("/docs", index, methods=["GET"]),
    Route("/docs/sandbox.js", script, methods=["GET"]),
    Mount("/docs/static", app=StaticFiles(directory=SWAGGER_UI_ASSETS), name="swagger-ui"),
]
