"""ASGI entry point: `uvicorn app.main:app`."""

from app.web.application import create_app

app = create_app()
