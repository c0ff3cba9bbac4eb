"""Audits: POST /v1/audits on the live server, and the `territorialite audit` command on a file."""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import json
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from app import __version__
from app.conformance.audit_file import HTML_SESSIONS
from app.conformance.synthetic import sessions, write_jsonl
from app.geography.loader import DEFAULT_GEODATA_DIR
from app.territoriality.rulings import load_catalogue
from tests.conformance.test_kit import sha256sum_listing

GOOD: dict[str, Any] = {
    "session_id": "s1",
    "timestamp": "2026-11-20T10:00:00Z",
    "channel": "video",
    "offers": {"with_appointment": True, "without_appointment": False},
    "information_message_shown": True,
    "location_input_offered": True,
    "patient": {"location": {"postal_code": "13001"}},
    "proposals": {
        "with_appointment": [
            {"id": "a", "location": {"commune": "13055"}},
            {"id": "b", "location": {"commune": "75056"}},
        ]
    },
}
TERRITORIAL_SECOND = {
    **GOOD,
    "session_id": "s2",
    "proposals": {"with_appointment": list(reversed(GOOD["proposals"]["with_appointment"]))},
}
PHONE = {**GOOD, "session_id": "s3", "channel": "phone", "timestamp": "2026-11-21T09:00:00+01:00"}
MALFORMED = {"session_id": "s4", "timestamp": "yesterday", "channel": "video"}


def test_batch_verdicts_and_aggregate(client: httpx.Client) -> None:
    body = {"sessions": [GOOD, TERRITORIAL_SECOND, PHONE, MALFORMED]}
    raw = json.dumps(body).encode()
    response = client.post("/v1/audits", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert [(s["session_id"], s["status"], s.get("verdict")) for s in result["sessions"]] == [
        ("s1", "judged", "compliant"),
        ("s2", "judged", "non_compliant"),
        ("s3", "judged", "out_of_scope"),
        ("s4", "invalid", None),
    ]
    assert {e["pointer"] for e in result["sessions"][3]["errors"]} >= {"/sessions/3/timestamp", "/sessions/3/offers"}
    summary = result["summary"]
    assert summary["sessions"] == {"total": 4, "valid": 3, "invalid": 1}
    assert summary["verdicts"] == {"compliant": 1, "non_compliant": 1, "inconclusive": 0, "out_of_scope": 1}
    assert summary["failures_per_ruling"] == {"FAQ-TLC-7": 1}
    assert summary["territorial_not_shown_first"]["sessions"] == 1
    assert summary["territorial_not_shown_first"]["share_of_valid_sessions"] == round(1 / 3, 4)
    assert summary["per_day"] == {"2026-11-20": {"compliant": 1, "non_compliant": 1}, "2026-11-21": {"out_of_scope": 1}}
    evidence = summary["evidence"]
    assert evidence["input_sha256"] == hashlib.sha256(raw).hexdigest()
    assert evidence["rulings_version"]
    assert evidence["geodata_vintage"]["cog"] == "COG 2026"
    assert evidence["policies"] == {"departement v1": 3}


def test_only_sessions_whose_order_was_judged_count_as_territorial_not_shown_first(client: httpx.Client) -> None:
    """Out of scope (phone only) or undecidable (the first physician's code does not exist): the
    share says nothing of them, whatever their proposals."""
    reversed_proposals = TERRITORIAL_SECOND["proposals"]
    phone = {**PHONE, "proposals": reversed_proposals}
    unknown_first = {
        **GOOD,
        "session_id": "s6",
        "proposals": {
            "with_appointment": [
                {"id": "ghost", "location": {"commune": "13999"}},
                {"id": "m", "location": {"commune": "13055"}},
            ]
        },
    }
    result = client.post("/v1/audits", json={"sessions": [GOOD, TERRITORIAL_SECOND, phone, unknown_first]}).json()
    assert [s["verdict"] for s in result["sessions"]] == ["compliant", "non_compliant", "out_of_scope", "inconclusive"]
    gap = result["summary"]["territorial_not_shown_first"]
    assert gap == {
        "sessions": 1,
        "share_of_valid_sessions": 0.25,
        "share_of_sessions_with_a_territorial_proposal": 0.5,
    }


def test_compliance_resting_on_what_the_session_records_is_counted(client: httpx.Client) -> None:
    paris_only = {"with_appointment": [{"id": "p", "location": {"commune": "75056"}}]}
    declined = {**GOOD, "session_id": "d", "patient": {"location": None}, "proposals": paris_only}
    abroad = {**GOOD, "session_id": "x", "patient": {"location": {"coordinates": {"lat": 50.8467, "lon": 4.3525}}}}
    unavailable = {
        **GOOD,
        "session_id": "u",
        "proposals": paris_only,
        "territorial_physician_available": {"with_appointment": False},
    }
    walk_in_exempt = {
        **GOOD,
        "session_id": "w",
        "offers": {
            "with_appointment": True,
            "without_appointment": True,
            "without_appointment_only_after_appointments": True,
        },
        "proposals": {**GOOD["proposals"], "without_appointment": paris_only["with_appointment"]},
    }
    result = client.post("/v1/audits", json={"sessions": [GOOD, declined, abroad, unavailable, walk_in_exempt]}).json()
    assert [s["verdict"] for s in result["sessions"]] == ["compliant"] * 5
    assert result["summary"]["compliant_resting_on"] == {
        "location_declined": 1,
        "patient_abroad": 1,
        "walk_in_exempt": 1,
        "no_territorial_physician_available": 1,
    }


def test_batch_limits(client: httpx.Client) -> None:
    too_many = {"sessions": [GOOD] * 1001}
    assert client.post("/v1/audits", json=too_many).status_code == 422
    assert client.post("/v1/audits", json={"sessions": []}).status_code == 422
    assert client.post("/v1/audits", json={"sessions": [1, 2]}).status_code == 422


def test_a_repeated_session_id_is_invalid_and_the_first_is_judged(client: httpx.Client) -> None:
    again = {**TERRITORIAL_SECOND, "session_id": "s1"}
    result = client.post("/v1/audits", json={"sessions": [GOOD, TERRITORIAL_SECOND, again, MALFORMED]}).json()
    assert [(s["session_id"], s["status"]) for s in result["sessions"]] == [
        ("s1", "judged"),
        ("s2", "judged"),
        ("s1", "invalid"),
        ("s4", "invalid"),
    ]
    [error] = result["sessions"][2]["errors"]
    assert error["pointer"] == "/sessions/2/session_id"
    assert "repeats the session_id of an earlier session" in error["detail"]
    assert result["summary"]["sessions"] == {"total": 4, "valid": 2, "invalid": 2}
    assert result["summary"]["verdicts"]["non_compliant"] == 1  # s2 only: the repeat is not judged


def test_sessions_are_answered_in_order_and_ids_remembered_across_judging_batches(client: httpx.Client) -> None:
    sessions = [{**GOOD, "session_id": f"s{number}"} for number in range(300)]  # several judging batches
    sessions[200] = {**GOOD, "session_id": "s5"}
    result = client.post("/v1/audits", json={"sessions": sessions}).json()
    assert [s["session_id"] for s in result["sessions"]] == [s["session_id"] for s in sessions]
    assert [n for n, s in enumerate(result["sessions"]) if s["status"] == "invalid"] == [200]
    [error] = result["sessions"][200]["errors"]
    assert error["pointer"] == "/sessions/200/session_id"
    assert result["summary"]["sessions"] == {"total": 300, "valid": 299, "invalid": 1}


def run_audit(source: Path, report: Path, *options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "app.cli", "audit", str(source), "--report", str(report), *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def write_lines(path: Path, *sessions: object) -> Path:
    path.write_text("".join(json.dumps(s) + "\n" for s in sessions), encoding="utf-8")
    return path


def test_audit_command_writes_summary_csv_and_html(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "sessions.jsonl", 300, seed=4)
    with source.open("a", encoding="utf-8") as out:
        out.write("not json\n")
        out.write(json.dumps(MALFORMED) + "\n")
    report = tmp_path / "report"
    run = run_audit(source, report)
    assert run.returncode == 1, run.stderr  # non-compliant sessions found
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["sessions"]["total"] == 302
    assert summary["sessions"]["invalid"] == 2
    assert sum(summary["verdicts"].values()) == 300
    failing = summary["verdicts"]["non_compliant"] + summary["verdicts"]["inconclusive"] + 2
    assert summary["failing_sessions"]["sessions"] == failing
    with (report / "failing_sessions.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary["failing_sessions"]["csv_rows"]
    assert len({r["line"] for r in rows}) == failing
    assert (
        summary["failing_sessions"]["csv_sha256"]
        == hashlib.sha256((report / "failing_sessions.csv").read_bytes()).hexdigest()
    )
    assert summary["verdicts"]["inconclusive"] > 0
    inconclusive = [r for r in rows if r["check_status"] == "inconclusive"]
    assert inconclusive
    assert all(r["missing_fact"].startswith("/") for r in inconclusive)
    assert {r["outcome"] for r in rows} == {"non_compliant", "inconclusive", "invalid"}
    assert all(r["reason"] for r in rows)
    assert all(r["ruling"] for r in rows if r["outcome"] != "invalid")
    page = (report / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 3
    assert re.search(r"https?://", page.replace("http://www.w3.org/2000/svg", "")) is None  # self-contained


def test_an_ordering_failure_names_the_physicians_and_their_positions(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "sessions.jsonl", GOOD, TERRITORIAL_SECOND)
    run_audit(source, tmp_path / "report")
    with (tmp_path / "report" / "failing_sessions.csv").open(encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["line"] == "2"
    assert row["session_id"] == "s2"
    assert (row["requirement"], row["aspect"], row["offer"]) == ("ETHT.02", "ordering", "with_appointment")
    assert (row["check_status"], row["ruling"]) == ("fail", "FAQ-TLC-7")
    shown = {k: v for k, v in row.items() if k.startswith(("shown_first", "better_shown_after"))}
    assert shown == {
        "shown_first": "b",
        "shown_first_position": "1",
        "shown_first_tier": "outside_territory",
        "better_shown_after": "a",
        "better_shown_after_position": "2",
        "better_shown_after_tier": "same_departement",
    }
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "b (position 1, tier outside_territory) shown before a (position 2, tier same_departement)" in page
    assert "ruling FAQ-TLC-7" in page


def test_an_inconclusive_check_names_the_missing_fact(tmp_path: Path) -> None:
    paris_only = {**GOOD, "proposals": {"with_appointment": [{"id": "b", "location": {"commune": "75056"}}]}}
    run = run_audit(write_lines(tmp_path / "sessions.jsonl", paris_only), tmp_path / "report")
    assert run.returncode == 1
    with (tmp_path / "report" / "failing_sessions.csv").open(encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["outcome"], row["check_status"]) == ("inconclusive", "inconclusive")
    assert row["missing_fact"] == "/territorial_physician_available/with_appointment"
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "Missing fact: /territorial_physician_available/with_appointment." in page


def test_report_html_lists_the_first_failing_sessions_and_counts_the_rest(tmp_path: Path) -> None:
    listed = HTML_SESSIONS
    failing = [{**TERRITORIAL_SECOND, "session_id": f"f{n}"} for n in range(listed + 7)]
    run_audit(write_lines(tmp_path / "sessions.jsonl", GOOD, *failing), tmp_path / "report")
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert f"The first {listed} of {listed + 7} non-compliant" in page
    assert f"<code>f{listed - 1}</code>" in page
    assert f"<code>f{listed}</code>" not in page
    assert f"… and 7 more failing sessions, not listed here: all {listed + 7} are in failing_sessions.csv" in page


def test_repeated_session_ids_are_invalid_in_the_file_too(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "sessions.jsonl", GOOD, PHONE, {**GOOD, "timestamp": "2026-11-22T10:00:00Z"})
    run = run_audit(source, tmp_path / "report")
    assert run.returncode == 1  # invalid fails the run by default
    assert "1 invalid (of which 1 repeat an earlier session_id)" in run.stdout
    summary = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["sessions"] == {"total": 3, "valid": 2, "invalid": 1, "invalid_for_a_repeated_session_id": 1}
    with (tmp_path / "report" / "failing_sessions.csv").open(encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["line"], row["session_id"], row["outcome"]) == ("3", "s1", "invalid")
    assert row["reason"].startswith("/session_id: repeats the session_id of an earlier session")


def test_every_share_says_of_what(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "sessions.jsonl", GOOD, TERRITORIAL_SECOND, PHONE, MALFORMED)
    run_audit(source, tmp_path / "report")
    summary = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["territorial_not_shown_first"] == {
        "sessions": 1,
        "share_of_valid_sessions": round(1 / 3, 4),
        "share_of_sessions_with_a_territorial_proposal": 0.5,  # the phone-only session's order is not judged
        "valid_sessions": 3,
        "sessions_with_a_territorial_proposal": 2,
    }
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert (
        "not shown first in <b>1 session</b>: 33.3% of the 3 valid sessions, 50.0% of the 2 sessions whose order "
        "was judged and where one was proposed"
    ) in page


def test_the_audit_evidence_names_tool_time_inputs_and_engine(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "sessions.jsonl", GOOD, PHONE)
    report = tmp_path / "report"
    assert run_audit(source, report).returncode == 0
    evidence = json.loads((report / "summary.json").read_text(encoding="utf-8"))["evidence"]
    assert evidence["tool"]["name"] == "territorialite"
    assert evidence["tool"]["version"] == __version__
    assert evidence["tool"]["python"] == platform.python_version()
    assert evidence["tool"]["packages"]["pydantic"] == importlib.metadata.version("pydantic")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", evidence["run"]["finished_at"])
    assert evidence["run"]["command_line"] == f"territorialite audit {source} --report {report}"
    sessions, geodata = evidence["inputs"]
    assert (sessions["what"], sessions["path"]) == ("recorded sessions", str(source))
    assert sessions["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert sessions["size_bytes"] == source.stat().st_size
    assert geodata["what"] == "geodata"
    assert geodata["sha256"] == sha256sum_listing(DEFAULT_GEODATA_DIR, "*")
    assert (
        geodata["files"]["communes.csv"]
        == hashlib.sha256((DEFAULT_GEODATA_DIR / "communes.csv").read_bytes()).hexdigest()
    )
    deployment = evidence["deployment"]
    assert deployment["described"] is True
    assert deployment["version"] == __version__
    assert deployment["rulings_version"] == load_catalogue().version
    assert deployment["policies"] == ["departement v1", "radius v1"]
    assert deployment["geodata_vintage"]["cog"] == "COG 2026"
    page = (report / "report.html").read_text(encoding="utf-8")
    for fact in (sessions["sha256"], geodata["sha256"], evidence["run"]["started_at"], deployment["rulings_version"]):
        assert fact in page


def test_the_command_and_the_api_agree(client: httpx.Client, tmp_path: Path) -> None:
    batch = list(sessions(200, seed=9))
    api = client.post("/v1/audits", json={"sessions": batch}).json()
    source = write_jsonl(tmp_path / "same.jsonl", 200, seed=9)
    run_audit(source, tmp_path)
    local = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    for key in ("verdicts", "failures_per_ruling", "per_day"):
        assert api["summary"][key] == local[key], key
    for key, value in api["summary"]["sessions"].items():
        assert local["sessions"][key] == value
    for key, value in api["summary"]["territorial_not_shown_first"].items():
        assert local["territorial_not_shown_first"][key] == value
    assert api["summary"]["evidence"]["policies"] == local["sessions_per_policy"]


def test_a_batch_of_sessions_is_bounded_by_their_bytes_as_by_their_number() -> None:
    """Heavy sessions (2,000 proposals each: some 65 KB) are judged a few at a time, small ones up to
    the batch's number: a 2 MB audit of heavy sessions judged as one batch took a worker to 207 MiB."""
    from app.contract.audits import BATCH_BYTES, SessionInput, _batches

    def sizes(batches: list[list[SessionInput]]) -> list[list[int]]:
        return [[session.size for session in batch] for batch in batches]

    third = BATCH_BYTES // 3
    heavy = [SessionInput(None, size=third) for _ in range(7)]
    assert sizes(list(_batches(heavy, 64))) == [[third] * 3, [third] * 3, [third]]
    alone = [SessionInput(None, size=10), SessionInput(None, size=BATCH_BYTES * 2), SessionInput(None, size=10)]
    assert sizes(list(_batches(alone, 64))) == [[10], [BATCH_BYTES * 2], [10]]
    small = [SessionInput(None, size=660) for _ in range(300)]
    assert [len(batch) for batch in _batches(small, 256)] == [256, 44]
    assert list(_batches([], 256)) == []
