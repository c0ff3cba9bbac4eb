"""Problem details (RFC 9457) over HTTP: one renderer, one handler table. The problems themselves
(kinds, statuses, field errors) are the contract's (app/contract/problems.py)."""

from __future__ import annotations

import logging
from http import HTTPStatus

import pydantic_core
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.contract.problems import ProblemError

PROBLEM_JSON = "application/problem+json"
HTTP_STATUS_KINDS = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized", 413: "payload-too-large"}
logger = logging.getLogger("territorialite")


def problem_response(problem: ProblemError, instance: str | None = None) -> Response:
    return Response(
        pydantic_core.to_json(problem.body(instance)),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


async def handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc, request.url.path)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = HTTP_STATUS_KINDS.get(exc.status_code, "not-found")
    problem = ProblemError(kind, exc.detail or HTTPStatus(exc.status_code).phrase, headers=dict(exc.headers or {}))
    return problem_response(problem, request.url.path)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Last resort: never a stack trace to the client. The log names the error type only. The
    answer says `Connection: close`: the server closes the connection after it (uvicorn, once
    Starlette raises the error again past this answer), and a client reusing it got a reset."""
    logger.error("unexpected error %s on %s", type(exc).__name__, request.url.path)
    detail = "the service could not answer this request"
    return problem_response(ProblemError("internal-error", detail, headers={"Connection": "close"}))


EXCEPTION_HANDLERS = {
    ProblemError: handle_problem,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
