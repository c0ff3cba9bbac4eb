"""ASGI entry point: `uvicorn app.main:app`, in every worker process."""

from app.web.application import create_app
from app.web.logging import skip_what_no_line_shows

skip_what_no_line_shows()
app = create_app()
