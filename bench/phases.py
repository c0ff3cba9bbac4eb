"""Where one `POST /v1/rankings`, one `POST /v1/scenario-evaluations` and an audited session spend
their time, phase by phase, in-process: the profiles behind the HTTP ratios and the audit's rate.
Each phase is run alone on the previous phase's output, as app.contract.operations chains them,
with the garbage collector set as the server sets it."""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections.abc import Callable, Iterator

import pydantic_core

from app.contract import operations, presenters
from app.contract.audits import BATCH, AuditSummary, SessionInput, audit_sessions, judge_sessions, session_report
from app.contract.requests import (
    RANKING_REQUEST,
    RECORDED_SESSION,
    SCENARIO_REQUEST,
    duplicate_id_errors,
    patient_location,
    policy_name,
    roster_of,
    scenario_consistency_errors,
    scenario_of,
)
from app.contract.unique_keys import NOT_READ, loads_unique, read_unique
from app.runtime import COLLECTOR_THRESHOLDS
from app.territoriality.information_message import etht01_message
from app.territoriality.patients import resolve_patient
from app.territoriality.policies import get_policy
from app.territoriality.ranking import classify_roster, rank_physicians
from app.territoriality.scenarios import evaluate_scenario, evaluate_scenarios

PHASES = (
    "reading the JSON (jiter; repeated keys, NaN, numbers past a double checked)",
    "validation (pydantic, strict, over TypedDicts; in parts past 64 KiB)",
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


def read_natively(body: bytes) -> object:
    document = read_unique(body)
    assert document is not NOT_READ, "a benchmark body the fast reading settles"
    return document


def timed_us(steps: list[Callable[[], object]], seconds: float = 0.5) -> list[float]:
    """Each step's median µs, with the garbage collector set as the server sets it."""
    with collected_as_the_server_does():
        return [median_us(step, seconds) for step in steps]


def phases(reference: operations.Reference, body: bytes) -> list[float]:
    geography = reference.geography
    document = read_natively(body)
    request = RANKING_REQUEST.validate_python(document)
    roster = roster_of(request["physicians"])
    policy, patient = get_policy(policy_name(request)), patient_location(request)
    ranking = rank_physicians(geography, patient, roster, policy, request.get("limit"))
    answer = presenters.ranking(ranking, geography, etht01_message())
    steps: list[Callable[[], object]] = [
        lambda: read_unique(body),
        lambda: operations.validated_document(RANKING_REQUEST, document, len(body)),
        lambda: roster_of(request["physicians"]),
        lambda: duplicate_id_errors(roster.ids, "/physicians"),
        lambda: rank_physicians(geography, patient, roster, policy, request.get("limit")),
        lambda: presenters.ranking(ranking, geography, etht01_message()),
        lambda: pydantic_core.to_json(answer),
        lambda: pydantic_core.to_json(operations.rank(reference, body)[0]),
    ]
    return timed_us(steps)


SCENARIO_PHASES = (
    "reading the JSON",
    "validation",
    "consistency of proposals and offers",
    "the scenario as domain objects (scenario_of)",
    "the engine: the proposals' tiers (classify_roster)",
    "facts, checks and verdict (evaluate_scenario, the engine included)",
    "presenting the verdict",
    "serialising it",
    "the whole operation, body bytes to answer bytes",
)


def scenario_phases(reference: operations.Reference, body: bytes) -> list[float]:
    geography, catalogue = reference.geography, reference.catalogue
    document = read_natively(body)
    request = SCENARIO_REQUEST.validate_python(document)
    scenario = scenario_of(request)
    assert scenario.proposals is not None, "a benchmark scenario with proposals"
    [(_, shown)] = scenario.proposals.items()
    patient = resolve_patient(geography, scenario.patient_location)
    evaluation = evaluate_scenario(geography, catalogue, scenario)
    answer = presenters.evaluation(evaluation)
    steps: list[Callable[[], object]] = [
        lambda: read_unique(body),
        lambda: SCENARIO_REQUEST.validate_python(document),
        lambda: scenario_consistency_errors(request),
        lambda: scenario_of(request),
        lambda: classify_roster(geography, patient, shown, scenario.policy),
        lambda: evaluate_scenario(geography, catalogue, scenario),
        lambda: presenters.evaluation(evaluation),
        lambda: pydantic_core.to_json(answer),
        lambda: pydantic_core.to_json(operations.evaluate(reference, body)),
    ]
    return timed_us(steps)


AUDIT_PHASES = (
    "reading a line of JSON",
    "validation",
    "consistency, and the scenario as domain objects",
    f"judging ({BATCH} sessions a call to evaluate_scenarios)",
    "validated, consistent, judged (judge_sessions; the line already read)",
    "... and counted: summary, repeated ids (audit_sessions)",
    "the session's report, serialised (session_report)",
)


def audit_phases(reference: operations.Reference, lines: list[bytes]) -> list[float]:
    """µs per session, over `lines` (one recorded session each, all valid; BATCH of them: one batch)."""
    geography, catalogue = reference.geography, reference.catalogue
    values = [loads_unique(line) for line in lines]
    recorded = [RECORDED_SESSION.validate_python(value) for value in values]
    assert not any(scenario_consistency_errors(r) for r in recorded), "benchmark sessions are valid"
    scenarios = [scenario_of(r) for r in recorded]
    inputs = [SessionInput(value, f"/sessions/{i}") for i, value in enumerate(values)]
    results = judge_sessions(inputs, geography, catalogue)

    def judged_and_counted() -> object:
        return list(audit_sessions(inputs, geography, catalogue, AuditSummary()))

    steps: list[Callable[[], object]] = [
        lambda: [loads_unique(line) for line in lines],
        lambda: [RECORDED_SESSION.validate_python(value) for value in values],
        lambda: [(scenario_consistency_errors(r), scenario_of(r)) for r in recorded],
        lambda: evaluate_scenarios(geography, catalogue, scenarios),
        lambda: judge_sessions(inputs, geography, catalogue),
        judged_and_counted,
        lambda: [pydantic_core.to_json(session_report(result)) for result in results],
    ]
    return [us / len(lines) for us in timed_us(steps, seconds=2.0)]


@contextlib.contextmanager
def collected_as_the_server_does() -> Iterator[None]:
    """The garbage collector as the server sets it once the geodata are loaded (app/runtime.py): what
    is loaded frozen out of it, the young generation collected as COLLECTOR_THRESHOLDS says. Without
    this, every full collection walks the geodata, and in-process figures overstate the server's."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
