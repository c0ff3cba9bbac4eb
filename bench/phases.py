"""Where one `POST /v1/rankings` spends its time, phase by phase, in-process: the profile behind
the HTTP ratios. Each phase is run alone on the previous phase's output, as
app.contract.operations.rank chains them, with the garbage collector set as the server sets it."""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections.abc import Callable, Iterator

import pydantic_core

from app.contract import operations, presenters
from app.contract.requests import RANKING_REQUEST, duplicate_id_errors, patient_location, policy_name, roster_of
from app.contract.unique_keys import NOT_READ, read_unique
from app.territoriality.information_message import etht01_message
from app.territoriality.policies import get_policy
from app.territoriality.ranking import rank_physicians

PHASES = (
    "reading the JSON (jiter; repeated keys, NaN, numbers past a double checked)",
    "validation (pydantic, strict, over TypedDicts)",
    "the roster as columns",
    "duplicate ids",
    "resolving, tiers, distances, order (rank_physicians)",
    "presenting the answer",
    "serialising it (pydantic_core.to_json)",
    "the whole operation, body bytes to answer bytes",
)


def median_us(function: Callable[[], object], seconds: float = 0.5) -> float:
    """Median µs of five rounds of as many calls as fit in `seconds` / 5."""
    function()
    started = time.perf_counter()
    function()
    calls = max(1, int(seconds / 5 / max(time.perf_counter() - started, 1e-6)))
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls):
            function()
        rounds.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(rounds)


def phases(reference: operations.Reference, body: bytes) -> list[float]:
    geography = reference.geography
    document = read_unique(body)
    assert document is not NOT_READ, "a benchmark body the fast reading settles"
    request = RANKING_REQUEST.validate_python(document)
    roster = roster_of(request["physicians"])
    policy, patient = get_policy(policy_name(request)), patient_location(request)
    ranking = rank_physicians(geography, patient, roster, policy, request.get("limit"))
    answer = presenters.ranking(ranking, geography, etht01_message())
    steps: list[Callable[[], object]] = [
        lambda: read_unique(body),
        lambda: RANKING_REQUEST.validate_python(document),
        lambda: roster_of(request["physicians"]),
        lambda: duplicate_id_errors(roster.ids, "/physicians"),
        lambda: rank_physicians(geography, patient, roster, policy, request.get("limit")),
        lambda: presenters.ranking(ranking, geography, etht01_message()),
        lambda: pydantic_core.to_json(answer),
        lambda: pydantic_core.to_json(operations.rank(reference, body)[0]),
    ]
    with collected_as_the_server_does():
        return [median_us(step) for step in steps]


@contextlib.contextmanager
def collected_as_the_server_does() -> Iterator[None]:
    """The garbage collector as app/web/application.py sets it once the geodata are loaded: what is
    loaded frozen out of it, the young generation collected every 5,000 allocations. Without
    this, every full collection walks the geodata, and in-process figures overstate the server's."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(5_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
