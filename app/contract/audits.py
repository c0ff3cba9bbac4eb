"""Audit of recorded booking sessions: each judged by the scenario engine, then aggregated.

One engine for both front doors: POST /v1/audits (batches of up to 1,000) and `territorialite audit
FILE.jsonl` (any size, read and judged BATCH sessions at a time: memory grows with the number of
distinct days and rulings, and by about 8 bytes per session for the ids already met). A malformed session is reported
as such and never sinks the batch; so is a session whose session_id repeats an earlier one's.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
from pydantic import ValidationError

from app import __version__
from app.contract import presenters
from app.contract.bounded import AS_OBJECTS, BOUNDED_FROM, validated
from app.contract.limits import MAX_AUDIT_FIELD_ERRORS, MAX_FIELD_ERRORS
from app.contract.problems import (
    FieldError,
    ProblemError,
    bounded,
    error_members,
    from_validation_error,
    patient_location_field_error,
)
from app.contract.requests import (
    RECORDED_SESSION,
    RecordedSession,
    UnknownLocalOffset,
    scenario_consistency_errors,
    scenario_of,
)
from app.geography import Geography
from app.territoriality.patients import PatientLocationError
from app.territoriality.rulings import Aspect, Catalogue, CheckStatus, Verdict
from app.territoriality.scenarios import Check, Evaluation, Scenario, evaluate_scenarios


@dataclass(frozen=True, slots=True)
class SessionInput:
    """One recorded session as read: its JSON value, or why it could not be read."""

    value: Any
    pointer: str = ""  # where the session sits in its document ("/sessions/3"); "" for a line of a file
    line: int | None = None  # its line in a JSON Lines file
    unreadable: str | None = None  # the reason, when the line is not JSON
    # its size in bytes (a line's, or its packed form's in a batch): past BOUNDED_FROM, validated in parts
    size: int = 0


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
    def judged_orderings(self) -> list[Check]:
        """The ordering checks that reached a definite outcome: not those of a pathway out of scope,
        a patient who declined or is abroad (not applicable), nor those that could not be decided."""
        if self.evaluation is None:
            return []
        return [c for c in self.evaluation.checks if c.aspect is Aspect.ORDERING and c.status in DEFINITE]

    @property
    def compliant_resting_on(self) -> set[str]:
        """For a compliant session, what its ordering rests on besides the order shown: the patient
        declined his location, is abroad, the walk-in list was exempt (FAQ-TLC-2), or the platform
        stated that no physician of the territory was available. Empty for any other session."""
        if self.evaluation is None or self.evaluation.verdict is not Verdict.COMPLIANT:
            return set()
        reasons = set()
        for c in self.evaluation.checks:
            if c.aspect is not Aspect.ORDERING:
                continue
            if c.status is CheckStatus.NOT_APPLICABLE and c.ruling in NOT_APPLICABLE_BECAUSE:
                reasons.add(NOT_APPLICABLE_BECAUSE[c.ruling])
            elif c.status is CheckStatus.PASS and not c.territorial_proposed:
                reasons.add(STATED_UNAVAILABLE)
        return reasons

    @property
    def territorial_proposed(self) -> bool:
        return any(c.territorial_proposed for c in self.judged_orderings)

    @property
    def territorial_not_first(self) -> bool:
        """A territorial physician was among the proposals of an offer judged, but not shown first."""
        return any(c.territorial_proposed and not c.territorial_first for c in self.judged_orderings)


DEFINITE = (CheckStatus.PASS, CheckStatus.FAIL)
NOT_APPLICABLE_BECAUSE = {
    "FAQ-TLC-3": "location_declined",
    "P-ABROAD-1": "patient_abroad",
    "FAQ-TLC-2": "walk_in_exempt",  # the walk-in list not judged: the appointments showed the territory first
}
STATED_UNAVAILABLE = "no_territorial_physician_available"  # as the platform stated
BATCH = 256  # sessions judged together: their proposals classified as one set of arrays
# In a server worker, a batch of 64: the heaviest audit took 4 % longer (457 against 438 ms, median of
# eight alternated rounds in-process), but a worker was 123-128 MB ten seconds after a minute of heavy
# audits against 136-142 with 256 (make attack): whatever a batch's objects surround and outlives them
# keeps Python's allocator from giving its memory back, and a smaller batch surrounds less.
REQUEST_BATCH = 64
# And a batch holds sessions of BATCH_BYTES at most (their lines, or their packed forms), whatever their
# number, unless one session alone is bigger: a 2 MB audit of some thirty sessions of 2,000 proposals
# each, judged as one batch, took a worker to 192-207 MiB (a review's runs), where a batch of small
# sessions (about 660 bytes each) stays whole.
BATCH_BYTES = 256 * 1024
REPEATED_ID = "repeats the session_id of an earlier session: each recorded session needs an id of its own"


def audit_sessions(
    sessions: Iterable[SessionInput],
    geography: Geography,
    catalogue: Catalogue,
    summary: AuditSummary,
    batch_size: int = BATCH,
) -> Iterator[tuple[SessionInput, SessionResult]]:
    """Judge the sessions, `batch_size` at a time, counting each in `summary`; one result per session,
    in order. Memory holds one batch and the ids met, whatever the number of sessions.

    The first session with a given session_id is judged; a later one with the same id is invalid.
    """
    seen = SeenIds()
    for batch in _batches(sessions, batch_size):
        for session, result in zip(batch, judge_sessions(batch, geography, catalogue), strict=True):
            if result.session_id is not None and seen.add(result.session_id) and result.valid:
                summary.repeated_ids += 1
                error = FieldError(f"{session.pointer}/session_id", REPEATED_ID)
                result = SessionResult(result.session_id, result.timestamp, None, (error,), 1)
            summary.add(result)
            yield session, result


def _batches(sessions: Iterable[SessionInput], batch_size: int) -> Iterator[list[SessionInput]]:
    """Consecutive sessions, `batch_size` at most and BATCH_BYTES at most (or one session alone)."""
    batch: list[SessionInput] = []
    size = 0
    for session in sessions:
        if batch and (len(batch) == batch_size or size + session.size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(session)
        size += session.size
    if batch:
        yield batch


class SeenIds:
    """The session ids met so far, each as an 8-byte BLAKE2b digest: a sorted numpy array, and a set of
    the most recent ones merged into it every RECENT ids.

    Memory: 8 bytes per id, plus at most RECENT ids in the set (a few MB) and a copy of the array
    while merging, against about 70 bytes per id for a set of the same digests as Python integers
    (bench/audit.py measures both). Two different ids are taken
    for the same one only if their 64-bit digests collide: odds of about n²/2⁶⁵ over n sessions
    (3 in 100 million for a million sessions).
    """

    RECENT = 1 << 16

    def __init__(self) -> None:
        self._merged = np.empty(0, dtype=np.uint64)
        self._recent: set[int] = set()

    def add(self, session_id: str) -> bool:
        """Remember `session_id`; True when it was met before."""
        key = int.from_bytes(hashlib.blake2b(session_id.encode("utf-8"), digest_size=8).digest(), "little")
        if key in self._recent or self._in_merged(key):
            return True
        self._recent.add(key)
        if len(self._recent) >= self.RECENT:
            self._merge()
        return False

    def __len__(self) -> int:
        return len(self._merged) + len(self._recent)

    def _in_merged(self, key: int) -> bool:
        at = int(np.searchsorted(self._merged, np.uint64(key)))
        return at < len(self._merged) and int(self._merged[at]) == key

    def _merge(self) -> None:
        recent = np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent))
        merged = np.concatenate((self._merged, recent))
        merged.sort(kind="stable")  # two sorted runs: a linear merge for timsort
        self._merged, self._recent = merged, set()


def judge_sessions(sessions: Sequence[SessionInput], geography: Geography, catalogue: Catalogue) -> list[SessionResult]:
    """Validate and judge recorded sessions; problems become the results' errors, never exceptions."""
    read = [_read(session) for session in sessions]
    scenarios = [item[1] for item in read if not isinstance(item, SessionResult)]
    evaluations = evaluate_scenarios(geography, catalogue, scenarios)
    judged = iter(evaluations)
    return [
        item if isinstance(item, SessionResult) else _judged(item[0], next(judged), session.pointer)
        for session, item in zip(sessions, read, strict=True)
    ]


def _judged(recorded: RecordedSession, evaluation: Evaluation | PatientLocationError, at: str) -> SessionResult:
    session_id, timestamp = recorded["session_id"], recorded["timestamp"]
    if isinstance(evaluation, PatientLocationError):
        return SessionResult(session_id, timestamp, None, (patient_location_field_error(evaluation).under(at),), 1)
    return SessionResult(session_id, timestamp, evaluation)


def _read(session: SessionInput) -> SessionResult | tuple[RecordedSession, Scenario]:
    """A session validated and turned into a scenario, or the result saying why it cannot be judged."""
    if session.unreadable is not None:
        return SessionResult(None, None, None, (FieldError(session.pointer, session.unreadable),), 1)
    raw = session.value
    session_id = raw.get("session_id") if isinstance(raw, dict) else None
    session_id = session_id if isinstance(session_id, str) else None
    try:
        recorded = _validated_session(raw, session.size)
    except ProblemError as problem:
        return SessionResult(session_id, None, None, _under(problem.errors, session.pointer), problem.error_count)
    inconsistent, count = bounded(scenario_consistency_errors(recorded, session.pointer))
    if inconsistent:
        return SessionResult(recorded["session_id"], recorded["timestamp"], None, tuple(inconsistent), count)
    return recorded, scenario_of(recorded)


def _validated_session(raw: Any, size: int) -> RecordedSession:
    """Its errors worded as for Python objects, as sessions' always were."""
    if size > BOUNDED_FROM:
        return cast(RecordedSession, validated(RECORDED_SESSION, raw, AS_OBJECTS))
    try:
        return RECORDED_SESSION.validate_python(raw)
    except ValidationError as error:
        raise from_validation_error(error) from error


def _under(errors: Iterable[FieldError], prefix: str) -> tuple[FieldError, ...]:
    return tuple(e.under(prefix) for e in errors)


@dataclass
class AuditSummary:
    """Running totals of an audit: constant memory per session."""

    sessions: int = 0
    invalid: int = 0
    repeated_ids: int = 0  # invalid for repeating an earlier session's id
    verdicts: Counter[Verdict] = field(default_factory=Counter)
    failures_per_ruling: Counter[str] = field(default_factory=Counter)
    policies: Counter[str] = field(default_factory=Counter)
    territorial_proposed: int = 0
    territorial_not_first: int = 0
    compliant_resting_on: Counter[str] = field(default_factory=Counter)
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
        self.territorial_proposed += result.territorial_proposed
        self.territorial_not_first += result.territorial_not_first
        self.compliant_resting_on.update(result.compliant_resting_on)
        if result.timestamp is not None:
            self.per_day[result.timestamp.date().isoformat()][evaluation.verdict] += 1

    def report(self, geography: Geography, catalogue: Catalogue) -> dict[str, object]:
        """The summary of a POST /v1/audits answer: the statistics, and the evidence of the batch."""
        return {
            **self.statistics(),
            "evidence": {
                "service_version": __version__,
                "policies": dict(sorted(self.policies.items())),
                "geodata_vintage": geography.vintage,
                "rulings_version": catalogue.version,
                "input_sha256": self.input_digest.hexdigest(),
            },
        }

    def statistics(self) -> dict[str, object]:
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
            "compliant_resting_on": {
                reason: self.compliant_resting_on.get(reason, 0)
                for reason in (*NOT_APPLICABLE_BECAUSE.values(), STATED_UNAVAILABLE)
            },
            "per_day": {day: {v.value: n for v, n in counts.items()} for day, counts in sorted(self.per_day.items())},
        }


def isoformat(moment: datetime) -> str:
    """moment.isoformat(), its time zone asked for the offset from Python. The datetime module's C
    code asks for it by a name made anew at each call, and CPython's method cache keeps such a name
    alive until another lookup takes its slot: after twenty 1,000-session audits, 46 to 74 strings
    'utcoffset' were all that was left in otherwise empty 1 MiB blocks of Python's allocator, which
    the worker could not give back (counted by walking the allocator's pools; none this way).
    An unknown local offset is written back as it came, "Z" or "-00:00", never as "+00:00"."""
    local = moment.replace(tzinfo=None).isoformat()
    if isinstance(moment.tzinfo, UnknownLocalOffset):
        return local + moment.tzinfo.written
    offset = moment.tzinfo.utcoffset(moment) if moment.tzinfo is not None else None
    return local + ("" if offset is None else _offset_text(offset))


def _offset_text(offset: timedelta) -> str:
    """As datetime.isoformat writes an offset: +HH:MM, then :SS and .ffffff when not zero."""
    sign = "-" if offset < timedelta(0) else "+"
    hours, rest = divmod(abs(offset), timedelta(hours=1))
    minutes, rest = divmod(rest, timedelta(minutes=1))
    text = f"{sign}{hours:02d}:{minutes:02d}"
    if rest.seconds or rest.microseconds:
        text += f":{rest.seconds:02d}"
        if rest.microseconds:
            text += f".{rest.microseconds:06d}"
    return text


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
        "timestamp": isoformat(result.timestamp) if result.timestamp else None,
        **presenters.evaluation(result.evaluation),
    }
