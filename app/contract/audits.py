"""Audit of recorded booking sessions: each judged by the scenario engine, then aggregated.

One engine for both front doors: POST /v1/audits (batches of up to 1,000) and `territorialite audit
FILE.jsonl` (any size, one session at a time: memory grows with the number of distinct days and
rulings, never with the number of sessions). A malformed session is reported as such and never
sinks the batch.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from app import __version__
from app.contract import presenters
from app.contract.limits import MAX_AUDIT_FIELD_ERRORS, MAX_FIELD_ERRORS
from app.contract.problems import (
    FieldError,
    bounded,
    error_members,
    from_validation_error,
    patient_location_field_error,
)
from app.contract.requests import RecordedSession
from app.geography import Geography
from app.territoriality.patients import PatientLocationError
from app.territoriality.rulings import Catalogue, CheckStatus, Verdict
from app.territoriality.scenarios import Evaluation, evaluate_scenario


@dataclass(frozen=True, slots=True)
class SessionInput:
    """One recorded session as read: its JSON value, or why it could not be read."""

    value: Any
    pointer: str = ""  # where the session sits in its document ("/sessions/3"); "" for a line of a file
    line: int | None = None  # its line in a JSON Lines file
    unreadable: str | None = None  # the reason, when the line is not JSON


@dataclass(frozen=True, slots=True)
class SessionResult:
    session_id: str | None
    timestamp: datetime | None
    evaluation: Evaluation | None
    errors: tuple[FieldError, ...] = ()  # the first MAX_FIELD_ERRORS
    error_count: int = 0  # every error, listed or not

    @property
    def valid(self) -> bool:
        return self.evaluation is not None

    @property
    def failed_rulings(self) -> set[str]:
        if self.evaluation is None:
            return set()
        return {c.ruling for c in self.evaluation.checks if c.status is CheckStatus.FAIL}

    @property
    def territorial_not_first(self) -> bool:
        """A territorial physician was among the proposals of an offer, but not shown first."""
        if self.evaluation is None:
            return False
        return any(c.territorial_proposed and not c.territorial_first for c in self.evaluation.checks)


def audit_sessions(
    sessions: Iterable[SessionInput], geography: Geography, catalogue: Catalogue, summary: AuditSummary
) -> Iterator[tuple[SessionInput, SessionResult]]:
    """Judge each session in turn, counting it in `summary`; one result per session, in order."""
    for session in sessions:
        result = judge_session(session, geography, catalogue)
        summary.add(result)
        yield session, result


def judge_session(session: SessionInput, geography: Geography, catalogue: Catalogue) -> SessionResult:
    """Validate and judge one recorded session; problems become the result's errors, never exceptions."""
    if session.unreadable is not None:
        return SessionResult(None, None, None, (FieldError(session.pointer, session.unreadable),), 1)
    raw = session.value
    session_id = raw.get("session_id") if isinstance(raw, dict) else None
    session_id = session_id if isinstance(session_id, str) else None
    try:
        recorded = RecordedSession.model_validate(raw)
    except ValidationError as error:
        problem = from_validation_error(error)
        return SessionResult(session_id, None, None, _under(problem.errors, session.pointer), problem.error_count)
    inconsistent, count = bounded(recorded.consistency_errors(session.pointer))
    if inconsistent:
        return SessionResult(recorded.session_id, recorded.timestamp, None, tuple(inconsistent), count)
    try:
        evaluation = evaluate_scenario(geography, catalogue, recorded.to_domain())
    except PatientLocationError as error:
        errors = (patient_location_field_error(error).under(session.pointer),)
        return SessionResult(recorded.session_id, recorded.timestamp, None, errors, 1)
    return SessionResult(recorded.session_id, recorded.timestamp, evaluation)


def _under(errors: Iterable[FieldError], prefix: str) -> tuple[FieldError, ...]:
    return tuple(e.under(prefix) for e in errors)


@dataclass
class AuditSummary:
    """Running totals of an audit: constant memory per session."""

    sessions: int = 0
    invalid: int = 0
    verdicts: Counter[Verdict] = field(default_factory=Counter)
    failures_per_ruling: Counter[str] = field(default_factory=Counter)
    policies: Counter[str] = field(default_factory=Counter)
    territorial_proposed: int = 0
    territorial_not_first: int = 0
    per_day: dict[str, Counter[Verdict]] = field(default_factory=lambda: defaultdict(Counter))
    input_digest: Any = field(default_factory=hashlib.sha256)

    def add(self, result: SessionResult) -> None:
        self.sessions += 1
        if result.evaluation is None:
            self.invalid += 1
            return
        evaluation = result.evaluation
        self.verdicts[evaluation.verdict] += 1
        self.policies[f"{evaluation.policy.name} v{evaluation.policy.version}"] += 1
        for ruling in result.failed_rulings:
            self.failures_per_ruling[ruling] += 1
        if any(c.territorial_proposed for c in evaluation.checks):
            self.territorial_proposed += 1
        self.territorial_not_first += result.territorial_not_first
        if result.timestamp is not None:
            self.per_day[result.timestamp.date().isoformat()][evaluation.verdict] += 1

    def report(self, geography: Geography, catalogue: Catalogue) -> dict[str, object]:
        valid = self.sessions - self.invalid
        return {
            "sessions": {"total": self.sessions, "valid": valid, "invalid": self.invalid},
            "verdicts": {v.value: self.verdicts.get(v, 0) for v in Verdict},
            "failures_per_ruling": dict(sorted(self.failures_per_ruling.items())),
            "territorial_not_shown_first": {
                "sessions": self.territorial_not_first,
                "share_of_valid_sessions": round(self.territorial_not_first / valid, 4) if valid else None,
                "share_of_sessions_with_a_territorial_proposal": (
                    round(self.territorial_not_first / self.territorial_proposed, 4)
                    if self.territorial_proposed
                    else None
                ),
            },
            "per_day": {day: {v.value: n for v, n in counts.items()} for day, counts in sorted(self.per_day.items())},
            "evidence": {
                "service_version": __version__,
                "policies": dict(sorted(self.policies.items())),
                "geodata_vintage": geography.vintage,
                "rulings_version": catalogue.version,
                "input_sha256": self.input_digest.hexdigest(),
            },
        }


def session_reports(results: Iterable[SessionResult]) -> list[dict[str, object]]:
    """The sessions of an audit answer. Errors are listed up to MAX_AUDIT_FIELD_ERRORS in all, then
    only counted: the answer stays small whatever the batch holds."""
    reports, room = [], MAX_AUDIT_FIELD_ERRORS
    for result in results:
        reports.append(session_report(result, room))
        room -= min(room, len(result.errors))
    return reports


def session_report(result: SessionResult, room: int = MAX_FIELD_ERRORS) -> dict[str, object]:
    if result.evaluation is None:
        listed = result.errors[:room]
        return {"session_id": result.session_id, "status": "invalid", **error_members(listed, result.error_count)}
    return {
        "session_id": result.session_id,
        "status": "judged",
        "timestamp": result.timestamp.isoformat() if result.timestamp else None,
        **presenters.evaluation(result.evaluation),
    }
