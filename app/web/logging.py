"""Structured JSON logs. Lines carry method, route, status, duration and request id: never a body,
a query string or a location."""

from __future__ import annotations

import json
import logging
from typing import Any


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["error"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(line, ensure_ascii=False)


def log_config(level: str) -> dict[str, Any]:
    """A logging.config dict for uvicorn and the service, every line one JSON object."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "territorialite": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            # what the event loop reports (an error in a callback), as JSON too, not Python's plain text
            "asyncio": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
        },
    }


def skip_what_no_line_shows() -> None:
    """The caller's file and line, the thread and the process: no line shows them, and the logging
    module finds them for every record unless told not to (its HOWTO, "Optimization"): a few
    microseconds of each request's access line. Process-wide: called by app.main, in each worker."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
