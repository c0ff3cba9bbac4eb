"""`territorialite audit FILE.jsonl --report DIR`: the audit engine in-process, on a file of any size.

One session per line, the same fields as a POST /v1/audits session. The file is read one line at a
time and judged at once: memory does not grow with the file. Writes summary.json,
failing_sessions.csv (non-compliant, inconclusive and invalid sessions, with their reasons and,
for inconclusive checks, the missing fact) and report.html.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from app.conformance import html
from app.contract.audits import AuditSummary, SessionInput, SessionResult, audit_sessions
from app.contract.presenters import missing_fact
from app.geography import load_geography
from app.territoriality.rulings import CheckStatus, Verdict, load_catalogue
from app.territoriality.scenarios import Check

FAILING_COLUMNS = ["line", "session_id", "timestamp", "status", "verdict", "failed_rulings", "reasons"]
REPORTED_VERDICTS = {Verdict.NON_COMPLIANT, Verdict.INCONCLUSIVE}


@dataclass(frozen=True)
class AuditOutcome:
    summary: dict[str, Any]
    report_dir: Path


def audit_file(path: Path, report_dir: Path, progress: bool | None = None) -> AuditOutcome:
    geography, catalogue = load_geography(), load_catalogue()
    report_dir.mkdir(parents=True, exist_ok=True)
    summary = AuditSummary()
    show_progress = sys.stderr.isatty() if progress is None else progress
    with (
        path.open("rb") as source,
        (report_dir / "failing_sessions.csv").open("w", encoding="utf-8", newline="") as failing,
        tqdm(total=path.stat().st_size, unit="B", unit_scale=True, disable=not show_progress, desc="audit") as bar,
    ):
        writer = csv.writer(failing, lineterminator="\n")
        writer.writerow(FAILING_COLUMNS)
        for session, result in audit_sessions(_sessions(source, summary, bar), geography, catalogue, summary):
            if result.evaluation is None or result.evaluation.verdict in REPORTED_VERDICTS:
                writer.writerow(_failing_row(session.line, result))
    report = summary.report(geography, catalogue)
    report["input_file"] = path.name
    (report_dir / "summary.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (report_dir / "report.html").write_text(render_report(report), encoding="utf-8")
    return AuditOutcome(report, report_dir)


def _sessions(source: IO[bytes], summary: AuditSummary, bar: tqdm) -> Iterator[SessionInput]:
    """One session per non-blank line; every byte read counts in the input's digest."""
    for number, line in enumerate(source, start=1):
        summary.input_digest.update(line)
        bar.update(len(line))
        if line.strip():
            yield _session(number, line)


def _session(number: int, line: bytes) -> SessionInput:
    try:
        return SessionInput(json.loads(line), line=number)
    except json.JSONDecodeError as error:
        return SessionInput(None, line=number, unreadable=f"not a JSON object: {error.msg}")
    except UnicodeDecodeError as error:
        return SessionInput(None, line=number, unreadable=f"not a JSON object: {error}")


def _failing_row(number: int | None, result: SessionResult) -> list[object]:
    if result.evaluation is None:
        reasons = "; ".join(f"{e.pointer or '/'}: {e.detail}" for e in result.errors)
        return [number, result.session_id, "", "invalid", "", "", reasons]
    failed = [c for c in result.evaluation.checks if c.status in (CheckStatus.FAIL, CheckStatus.INCONCLUSIVE)]
    return [
        number,
        result.session_id,
        result.timestamp.isoformat() if result.timestamp else "",
        "judged",
        result.evaluation.verdict,
        " ".join(sorted({c.ruling for c in failed})),
        "; ".join(_reason(c) for c in failed),
    ]


def _reason(check: Check) -> str:
    where = f"{check.requirement} {check.aspect}{' ' + check.offer if check.offer else ''}"
    missing = missing_fact(check)
    return f"{where}: {check.status}: {check.reason}" + (f" (missing: {missing})" if missing else "")


def render_report(report: dict[str, Any]) -> str:
    sessions, evidence = report["sessions"], report["evidence"]
    gap = report["territorial_not_shown_first"]
    share = gap["share_of_valid_sessions"]
    body = [
        "<h1>Territoriality audit of recorded booking sessions</h1>",
        f"<p class='muted'>Input <code>{html.escape(str(report.get('input_file', '')))}</code>, SHA-256 "
        f"<code>{evidence['input_sha256']}</code></p>",
        html.cards(
            {
                "sessions": sessions["total"],
                "invalid": sessions["invalid"],
                **report["verdicts"],
                "territorial not shown first": f"{share:.1%}" if share is not None else "—",
            }
        ),
        "<h2>Verdicts</h2>",
        html.bar_chart({**report["verdicts"], "invalid": sessions["invalid"]}, "Sessions per verdict"),
        "<h2>Failures per ruling</h2>",
        html.bar_chart(report["failures_per_ruling"], "Sessions failing a check that cites the ruling"),
        "<h2>Over time</h2>",
        html.stacked_columns(report["per_day"], [v.value for v in Verdict], "Sessions per day"),
        "<h2>Evidence</h2>",
        html.table(
            ["what", "value"],
            [
                ["service version", evidence["service_version"]],
                ["policies", ", ".join(f"{k}: {v}" for k, v in evidence["policies"].items()) or "—"],
                ["geodata vintage", ", ".join(evidence["geodata_vintage"].values())],
                ["rulings catalogue", evidence["rulings_version"]],
                ["input SHA-256", evidence["input_sha256"]],
            ],
        ),
        "<p class='muted'>Failing sessions and their reasons: failing_sessions.csv beside this report.</p>",
    ]
    return html.page("Territoriality audit", "".join(body))


def print_summary(outcome: AuditOutcome, out: IO[str]) -> None:
    s = outcome.summary
    verdicts = ", ".join(f"{k} {v}" for k, v in s["verdicts"].items())
    print(f"{s['sessions']['total']} sessions ({s['sessions']['invalid']} invalid): {verdicts}", file=out)
    print(f"reports in {outcome.report_dir}: summary.json, failing_sessions.csv, report.html", file=out)
