"""`territorialite audit FILE.jsonl --report DIR`: the audit engine in-process, on a file of any size.

One session per line, the same fields as a POST /v1/audits session. The file is read one line at a
time and judged at once: memory does not grow with the file (but for 8 bytes per session id, to
find repeated ids). Writes summary.json (counts, and the evidence of the run), failing_sessions.csv
(one row per failing or inconclusive check, and per invalid session) and report.html (the first
HTML_SESSIONS failing sessions, and a count of the rest).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from app import __version__
from app.conformance import html
from app.conformance.evidence import Deployment, Evidence, file_digest, folder_files_digest, utc_now
from app.contract import operations
from app.contract.audits import AuditSummary, SessionInput, SessionResult, audit_sessions, isoformat
from app.contract.presenters import missing_fact
from app.contract.problems import ProblemError
from app.contract.unique_keys import loads_unique
from app.geography import Geography, load_geography
from app.geography.loader import DEFAULT_GEODATA_DIR
from app.territoriality.rulings import Catalogue, CheckStatus, Verdict, load_catalogue
from app.territoriality.scenarios import Check, ShownPhysician

CSV_FILE = "failing_sessions.csv"
CSV_COLUMNS = [
    "line",
    "session_id",
    "timestamp",
    "outcome",  # non_compliant, inconclusive or invalid
    "verdict_basis",  # source or project_choice: what the verdict rests on (as in the API's answers)
    "requirement",
    "aspect",
    "offer",
    "check_status",  # fail or inconclusive
    "ruling",
    "reason",
    "missing_fact",  # for an inconclusive check: the field that would decide it
    "shown_first",  # for an ordering failure: the physician shown too early...
    "shown_first_position",
    "shown_first_tier",
    "better_shown_after",  # ... and the better-placed one shown after him
    "better_shown_after_position",
    "better_shown_after_tier",
]
REPORTED_VERDICTS = {Verdict.NON_COMPLIANT, Verdict.INCONCLUSIVE}
FAILING_CHECKS = {CheckStatus.FAIL, CheckStatus.INCONCLUSIVE}
HTML_SESSIONS = 300  # failing sessions listed in report.html; all are in the CSV


class FailOn(StrEnum):
    """What, besides a non-compliant session, fails an audit run (`--fail-on`)."""

    INCONCLUSIVE = "inconclusive"
    INVALID = "invalid"


IN_PROCESS = "in-process: this tool's own engine"


class AuditInputError(ValueError):
    """The file cannot be audited: a usage or input error, found before any session is judged."""


@dataclass(frozen=True)
class Finding:
    """Why a session is reported: one failing or inconclusive check, or an invalid session's errors."""

    reason: str
    check: Check | None = None

    @property
    def violation(self) -> tuple[ShownPhysician, ShownPhysician] | None:
        v = self.check.violation if self.check else None
        return (v.shown_first, v.better_shown_after) if v else None

    def text(self) -> str:
        if self.check is None:
            return self.reason
        c = self.check
        where = f"{c.requirement} {c.aspect}" + (f" ({c.offer})" if c.offer else "")
        sentences = [f"{where}: {c.status}, ruling {c.ruling}.", c.reason]
        if self.violation:
            first, better = self.violation
            sentences.append(f"Out of order: {_physician(first)} shown before {_physician(better)}.")
        missing = missing_fact(c)
        if missing:
            sentences.append(f"Missing fact: {missing}.")
        return " ".join(sentences)


@dataclass(frozen=True)
class FailingSession:
    line: int | None
    session_id: str | None
    timestamp: str
    outcome: str
    basis: str  # the verdict's basis; empty for an invalid session
    findings: tuple[Finding, ...]

    @classmethod
    def of(cls, line: int | None, result: SessionResult) -> FailingSession:
        timestamp = isoformat(result.timestamp) if result.timestamp else ""
        if result.evaluation is None:
            reasons = "; ".join(f"{e.pointer or '/'}: {e.detail}" for e in result.errors)
            return cls(line, result.session_id, timestamp, "invalid", "", (Finding(reasons),))
        checks = [c for c in result.evaluation.checks if c.status in FAILING_CHECKS]
        findings = tuple(Finding(c.reason, c) for c in checks)
        basis = result.evaluation.verdict_basis.value if result.evaluation.verdict_basis else ""
        return cls(line, result.session_id, timestamp, result.evaluation.verdict.value, basis, findings)

    def csv_rows(self) -> Iterator[list[object]]:
        for finding in self.findings:
            c = finding.check
            head = [self.line, self.session_id, self.timestamp, self.outcome, self.basis]
            if c is None:
                yield [*head, "", "", "", "", "", finding.reason, "", "", "", "", "", "", ""]
                continue
            shown: list[object] = ["", "", "", "", "", ""]
            if finding.violation:
                first, better = finding.violation
                shown = [first.id, first.position, first.tier.value, better.id, better.position, better.tier.value]
            offer = c.offer.value if c.offer else ""
            check = [c.requirement, c.aspect.value, offer, c.status.value, c.ruling, c.reason, missing_fact(c) or ""]
            yield [*head, *check, *shown]


def _physician(p: ShownPhysician) -> str:
    return f"{p.id} (position {p.position}, tier {p.tier.value})"


# A cell a spreadsheet would read as a formula (OWASP, "CSV Injection"): the platform's own ids and
# texts reach the CSV, and auditors open it in a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe; anything else as is."""
    return "'" + cell if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell


@dataclass
class FailingSessions:
    """Writes every failing session to the CSV as it comes; keeps the first few for the HTML report."""

    out: IO[str]
    sessions: int = 0
    rows: int = 0
    first: list[FailingSession] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.writer = csv.writer(self.out, lineterminator="\n")
        self.writer.writerow(CSV_COLUMNS)

    def add(self, failing: FailingSession) -> None:
        self.sessions += 1
        for row in failing.csv_rows():
            self.writer.writerow([inert(cell) for cell in row])
            self.rows += 1
        if len(self.first) < HTML_SESSIONS:
            self.first.append(failing)


@dataclass(frozen=True)
class AuditOutcome:
    summary: dict[str, Any]
    report_dir: Path

    def failed(self, fail_on: frozenset[FailOn]) -> bool:
        """Non-compliant sessions always fail the run; inconclusive and invalid ones when `fail_on` names them."""
        verdicts, sessions = self.summary["verdicts"], self.summary["sessions"]
        return bool(
            verdicts[Verdict.NON_COMPLIANT]
            or (FailOn.INCONCLUSIVE in fail_on and verdicts[Verdict.INCONCLUSIVE])
            or (FailOn.INVALID in fail_on and sessions["invalid"])
        )


def audit_file(
    path: Path,
    report_dir: Path,
    *,
    geodata_dir: Path = DEFAULT_GEODATA_DIR,
    command_line: str = "territorialite audit",
    started: datetime | None = None,
    progress: bool | None = None,
    reference: tuple[Geography, Catalogue] | None = None,
) -> AuditOutcome:
    """`reference`: the geography and rulings, when the caller loaded them (from `geodata_dir`)."""
    started = started or utc_now()
    check_input(path)
    report_dir.mkdir(parents=True, exist_ok=True)
    geography, catalogue = reference or load_reference(geodata_dir)
    summary = AuditSummary()
    show_progress = sys.stderr.isatty() if progress is None else progress
    with (
        path.open("rb") as source,
        (report_dir / CSV_FILE).open("w", encoding="utf-8", newline="") as out,
        tqdm(total=path.stat().st_size, unit="B", unit_scale=True, disable=not show_progress, desc="audit") as bar,
    ):
        failing = FailingSessions(out)
        for session, result in audit_sessions(_sessions(source, summary, bar), geography, catalogue, summary):
            if result.evaluation is None or result.evaluation.verdict in REPORTED_VERDICTS:
                failing.add(FailingSession.of(session.line, result))
    evidence = Evidence(
        started,
        utc_now(),
        command_line,
        (
            file_digest("recorded sessions", path, summary.input_digest.hexdigest(), path.stat().st_size),
            folder_files_digest("geodata", geodata_dir, "*"),
        ),
        _self_description(geography, catalogue),
    )
    report = _summary(path, summary, failing, report_dir / CSV_FILE, evidence)
    (report_dir / "report.html").write_text(render_report(report, evidence, failing.first), encoding="utf-8")
    (report_dir / "summary.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return AuditOutcome(report, report_dir)


def check_input(path: Path) -> None:
    """A readable file whose first non-blank line is a JSON object: else nothing is judged."""
    if not path.exists():
        raise AuditInputError(f"no such file: {path}")
    if not path.is_file():
        raise AuditInputError(f"not a file: {path}")
    with path.open("rb") as source:
        for number, line in enumerate(source, start=1):
            if line.strip():
                try:
                    first = json.loads(line)
                except (ValueError, UnicodeDecodeError):
                    first = None
                if not isinstance(first, dict):
                    raise AuditInputError(
                        f"{path} is not JSON Lines: line {number} is not a JSON object "
                        "(one recorded session per line, as a POST /v1/audits session)"
                    )
                return
    raise AuditInputError(f"no session in {path}: the file is empty")


@functools.cache
def load_reference(geodata_dir: Path) -> tuple[Geography, Catalogue]:
    """The geography and the rulings, loaded once per folder: the engine's tables are built once per
    Geography and kept for it, so a second Geography of the same folder would double them."""
    try:
        return load_geography(geodata_dir), load_catalogue()
    except FileNotFoundError as error:
        raise AuditInputError(f"geodata not found in {geodata_dir}: {error.strerror}: {error.filename}") from None


def _self_description(geography: Geography, catalogue: Catalogue) -> Deployment:
    """What the in-process engine says of itself: the same answers as GET /readyz, /v1/rulings, /v1/policies."""
    readyz = {"version": __version__, "geodata": geography.vintage}
    reference = operations.Reference(geography, catalogue)
    return Deployment.from_answers(IN_PROCESS, readyz, operations.rulings(reference), operations.policies())


def _sessions(source: IO[bytes], summary: AuditSummary, bar: tqdm) -> Iterator[SessionInput]:
    """One session per non-blank line; every byte read counts in the input's digest."""
    for number, line in enumerate(source, start=1):
        summary.input_digest.update(line)
        bar.update(len(line))
        if line.strip():
            yield _session(number, line)


def _session(number: int, line: bytes) -> SessionInput:
    """A line as a session; one with a key repeated inside an object is unreadable, as the API refuses it."""
    try:
        return SessionInput(loads_unique(line), line=number, size=len(line))
    except ProblemError as problem:
        return SessionInput(None, line=number, unreadable=problem.detail)
    except json.JSONDecodeError as error:
        return SessionInput(None, line=number, unreadable=f"not a JSON object: {error.msg}")
    except UnicodeDecodeError as error:
        return SessionInput(None, line=number, unreadable=f"not a JSON object: {error}")
    except RecursionError:
        return SessionInput(None, line=number, unreadable="not a JSON object: nested deeper than the reader goes")


def _summary(
    path: Path, summary: AuditSummary, failing: FailingSessions, csv_path: Path, evidence: Evidence
) -> dict[str, Any]:
    statistics: dict[str, Any] = summary.statistics()
    statistics["sessions"]["invalid_for_a_repeated_session_id"] = summary.repeated_ids
    # the denominators of its two shares, said outright
    statistics["territorial_not_shown_first"]["valid_sessions"] = statistics["sessions"]["valid"]
    statistics["territorial_not_shown_first"]["sessions_with_a_territorial_proposal"] = summary.territorial_proposed
    return {
        "input_file": path.name,
        **statistics,
        "sessions_per_policy": dict(sorted(summary.policies.items())),
        "failing_sessions": {
            "sessions": failing.sessions,
            "csv_rows": failing.rows,
            "csv_file": CSV_FILE,
            "csv_sha256": _file_sha256(csv_path),
        },
        "evidence": evidence.as_json(),
    }


def _file_sha256(path: Path) -> str:
    with path.open("rb") as written:
        return hashlib.file_digest(written, "sha256").hexdigest()


# ------------------------------------------------------------------ report.html


def render_report(report: dict[str, Any], evidence: Evidence, first_failing: list[FailingSession]) -> str:
    sessions, verdicts = report["sessions"], report["verdicts"]
    failing = report["failing_sessions"]
    body = [
        "<h1>Territoriality audit of recorded booking sessions</h1>",
        html.note(evidence.headline()),
        html.cards(
            {
                "sessions read": sessions["total"],
                "invalid": sessions["invalid"],
                **{verdict.replace("_", " "): count for verdict, count in verdicts.items()},
            }
        ),
        _territorial_gap(report["territorial_not_shown_first"]),
        _resting_on(report["compliant_resting_on"]),
        "<h2>Verdicts</h2>",
        html.bar_chart({**verdicts, "invalid": sessions["invalid"]}, "Sessions per verdict (all sessions read)"),
        "<h2>Failures per ruling</h2>",
        html.bar_chart(report["failures_per_ruling"], "Valid sessions failing a check that cites the ruling"),
        "<h2>Over time</h2>",
        html.stacked_columns(report["per_day"], [v.value for v in Verdict], "Valid sessions per day, by verdict"),
        "<h2>Failing sessions</h2>",
        _failing_table(first_failing, failing["sessions"]),
        "<h2>Evidence</h2>",
        html.table(
            ["what", "value"],
            [
                *evidence.rows(),
                (f"{CSV_FILE}: SHA-256", failing["csv_sha256"]),
                (f"{CSV_FILE}: rows", f"{failing['csv_rows']:,}"),
            ],
        ),
    ]
    return html.page("Territoriality audit", "".join(body))


def _territorial_gap(gap: dict[str, Any]) -> str:
    """Each share with what it is a share of."""
    shares = []
    if gap["share_of_valid_sessions"] is not None:
        shares.append(
            f"{gap['share_of_valid_sessions']:.1%} of the {html.counted(gap['valid_sessions'], 'valid session')}"
        )
    if gap["share_of_sessions_with_a_territorial_proposal"] is not None:
        shares.append(
            f"{gap['share_of_sessions_with_a_territorial_proposal']:.1%} of the "
            f"{html.counted(gap['sessions_with_a_territorial_proposal'], 'session')} "
            "whose order was judged and where one was proposed"
        )
    return (
        f"<p>A physician of the patient's territory was proposed but not shown first in "
        f"<b>{html.counted(gap['sessions'], 'session')}</b>{': ' + ', '.join(shares) if shares else ''} "
        "(sessions whose order was judged: not out of scope, declined, abroad or inconclusive).</p>"
    )


def _resting_on(counts: dict[str, int]) -> str:
    said = {
        "location_declined": "the patient declined his location",
        "patient_abroad": "the patient is abroad",
        "walk_in_exempt": "the walk-in list was exempt (the appointments showed a physician of the territory first)",
        "no_territorial_physician_available": "the platform stated that no physician of the territory was available",
    }
    parts = [f"{html.counted(counts[reason], 'session')}: {text}" for reason, text in said.items() if counts[reason]]
    if not parts:
        return ""
    return (
        "<p>Compliant without a physician of the territory shown first, on what the sessions record: "
        + "; ".join(html.escape(part) for part in parts)
        + ".</p>"
    )


def _failing_table(first: list[FailingSession], total: int) -> str:
    if not total:
        return "<p>No failing, inconclusive or invalid session.</p>"
    rows = [
        [
            html.escape(str(f.line or "")),
            f"<code>{html.escape(f.session_id or '—')}</code>",
            html.escape(f.outcome + (f" (rests on: {f.basis})" if f.basis else "")),
            "<ul>" + "".join(f"<li>{html.escape(finding.text())}</li>" for finding in f.findings) + "</ul>",
        ]
        for f in first
    ]
    rest = total - len(first)
    more = (
        f"<p>… and {rest:,} more failing sessions, not listed here: all {total:,} are in {CSV_FILE}.</p>"
        if rest
        else f"<p class='muted'>All {total:,} failing sessions, one row per failing check, are also in {CSV_FILE}.</p>"
    )
    shown = (
        f"<p>The first {len(first):,} of {total:,} non-compliant, inconclusive or invalid sessions, in file order.</p>"
    )
    return shown + html.table(["line", "session", "outcome", "what failed"], rows, raw=True) + more


def print_summary(outcome: AuditOutcome, out: IO[str]) -> None:
    s = outcome.summary
    sessions = s["sessions"]
    verdicts = ", ".join(f"{k} {v:,}" for k, v in s["verdicts"].items())
    repeated = sessions["invalid_for_a_repeated_session_id"]
    print(
        f"{sessions['total']:,} sessions: {sessions['valid']:,} valid ({verdicts}), {sessions['invalid']:,} invalid"
        + (f" (of which {repeated:,} repeat an earlier session_id)" if repeated else ""),
        file=out,
    )
    print(f"{s['failing_sessions']['sessions']:,} failing, inconclusive or invalid sessions in {CSV_FILE}", file=out)
    print(f"reports in {outcome.report_dir}: summary.json, {CSV_FILE}, report.html", file=out)
