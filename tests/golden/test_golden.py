"""Byte-identical answers: what the service answers today equals what it answered when the golden
file was recorded (`python -m tests.golden record`, only for a change of behaviour made on purpose)."""

from __future__ import annotations

import difflib
import json

import httpx

from tests.golden.answers import answer, read_exchanges


def test_every_golden_request_gets_the_recorded_answer(client: httpx.Client) -> None:
    exchanges = read_exchanges()
    assert len(exchanges) > 2500
    differences = []
    for number, exchange in enumerate(exchanges):
        status, content_type, body = answer(client, exchange.request)
        if (status, content_type, body) != (exchange.status, exchange.content_type, exchange.body):
            differences.append((number, exchange, status, content_type, body))
    if differences:
        number, exchange, status, content_type, body = differences[0]
        diff = "\n".join(difflib.unified_diff(readable(exchange.body), readable(body), "recorded", "now", lineterm=""))
        raise AssertionError(
            f"{len(differences)} of {len(exchanges)} answers differ; first: #{number} "
            f"{exchange.request['method']} {exchange.request['path']}: status {exchange.status} -> {status}, "
            f"content-type {exchange.content_type} -> {content_type}\n{diff[:4000]}"
        )


def readable(body: str) -> list[str]:
    """One line per JSON value, so that a difference shows where it is."""
    try:
        return json.dumps(json.loads(body), indent=1, ensure_ascii=False).splitlines()
    except ValueError:
        return body.splitlines()
