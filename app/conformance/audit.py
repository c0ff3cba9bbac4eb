"""Audit of recorded booking sessions: each judged by the scenario engine, then aggregated.

Used by POST /v1/audits (batches of up to 1,000) and by `territorialite audit FILE.jsonl` (any
size, one session at a time: memory grows with the number of distinct days and rulings, never
with the number of sessions). A malformed session is reported as such and never sinks the batch.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, Field, StringConstraints, ValidationError

from app import __version__
from app.geography import Geography
from app.territoriality.ranking import PatientLocationError
from app.territoriality.rulings import Catalogue
from app.territoriality.scenarios import Evaluation, evaluate_scenario
from app.web import presenters
from app.web.problems import FieldError, from_validation_error
from app.web.schemas import ScenarioRequest

MAX_SESSIONS_PER_REQUEST = 1_000
SessionId = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class RecordedSession(ScenarioRequest):
    """A recorded booking session: the scenario fields, plus its id and when it happened."""

    session_id: SessionId
    timestamp: AwareDatetime = Field(strict=False, description="RFC 3339 with a time zone")


@dataclass(frozen=True, slots=True)
class SessionResult:
    session_id: str | None
    timestamp: datetime | None
    evaluation: Evaluation | None
    errors: tuple[FieldError, ...] = ()

    @property
    def valid(self) -> bool:
        return self.evaluation is not None

    @property
    def failed_rulings(self) -> set[str]:
        if self.evaluation is None:
            return set()
        return {c.ruling for c in self.evaluation.checks if c.status == "fail"}

    @property
    def territorial_not_first(self) -> bool:
        """A territorial physician was among the proposals of an offer, but not shown first."""
        if self.evaluation is None:
            return False
        return any(c.territorial_proposed and not c.territorial_first for c in self.evaluation.checks)


def judge_session(raw: Any, geography: Geography, catalogue: Catalogue, pointer: str = "") -> SessionResult:
    """Validate and judge one recorded session; problems become the result's errors, never exceptions."""
    session_id = raw.get("session_id") if isinstance(raw, dict) else None
    session_id = session_id if isinstance(session_id, str) else None
    try:
        session = RecordedSession.model_validate(raw)
    except ValidationError as error:
        problem = from_validation_error(error)
        return SessionResult(session_id, None, None, _prefixed(problem.errors, pointer))
    inconsistent = [FieldError(p, d) for p, d in session.consistency_errors(pointer)]
    if inconsistent:
        return SessionResult(session.session_id, session.timestamp, None, tuple(inconsistent))
    try:
        evaluation = evaluate_scenario(geography, catalogue, session.to_domain())
    except PatientLocationError as error:
        errors = (FieldError(pointer + error.pointer, error.unresolved.detail),)
        return SessionResult(session.session_id, session.timestamp, None, errors)
    return SessionResult(session.session_id, session.timestamp, evaluation)


def _prefixed(errors: list[FieldError], pointer: str) -> tuple[FieldError, ...]:
    return tuple(FieldError(pointer + e.pointer, e.detail) for e in errors)


@dataclass
class AuditSummary:
    """Running totals of an audit: constant memory per session."""

    sessions: int = 0
    invalid: int = 0
    verdicts: Counter = field(default_factory=Counter)
    failures_per_ruling: Counter = field(default_factory=Counter)
    policies: Counter = field(default_factory=Counter)
    territorial_proposed: int = 0
    territorial_not_first: int = 0
    per_day: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
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
            "verdicts": {v: self.verdicts.get(v, 0) for v in ("compliant", "non_compliant", "out_of_scope")},
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
            "per_day": {day: dict(counts) for day, counts in sorted(self.per_day.items())},
            "evidence": {
                "service_version": __version__,
                "policies": dict(sorted(self.policies.items())),
                "geodata_vintage": geography.vintage,
                "rulings_version": catalogue.version,
                "input_sha256": self.input_digest.hexdigest(),
            },
        }


def session_report(result: SessionResult) -> dict[str, object]:
    if result.evaluation is None:
        return {
            "session_id": result.session_id,
            "status": "invalid",
            "errors": [{"pointer": e.pointer, "detail": e.detail} for e in result.errors],
        }
    return {
        "session_id": result.session_id,
        "status": "judged",
        "timestamp": result.timestamp.isoformat() if result.timestamp else None,
        **presenters.evaluation(result.evaluation),
    }
