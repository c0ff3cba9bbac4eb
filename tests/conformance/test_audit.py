"""Audits: POST /v1/audits on the live server, and the `territorialite audit` command on a file."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import httpx

from app.conformance.synthetic import sessions, write_jsonl

GOOD = {
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
    assert summary["failures_per_ruling"] == {"FAQ-TLC-1": 1}
    assert summary["territorial_not_shown_first"]["sessions"] == 1
    assert summary["territorial_not_shown_first"]["share_of_valid_sessions"] == round(1 / 3, 4)
    assert summary["per_day"] == {"2026-11-20": {"compliant": 1, "non_compliant": 1}, "2026-11-21": {"out_of_scope": 1}}
    evidence = summary["evidence"]
    assert evidence["input_sha256"] == hashlib.sha256(raw).hexdigest()
    assert evidence["rulings_version"]
    assert evidence["geodata_vintage"]["cog"] == "COG 2026"
    assert evidence["policies"] == {"departement v1": 3}


def test_batch_limits(client: httpx.Client) -> None:
    too_many = {"sessions": [GOOD] * 1001}
    assert client.post("/v1/audits", json=too_many).status_code == 422
    assert client.post("/v1/audits", json={"sessions": []}).status_code == 422
    assert client.post("/v1/audits", json={"sessions": [1, 2]}).status_code == 422


def test_audit_command_writes_summary_csv_and_html(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "sessions.jsonl", 300, seed=4)
    with source.open("a", encoding="utf-8") as out:
        out.write("not json\n")
        out.write(json.dumps(MALFORMED) + "\n")
    report = tmp_path / "report"
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "audit", str(source), "--report", str(report)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["sessions"]["total"] == 302
    assert summary["sessions"]["invalid"] == 2
    assert sum(summary["verdicts"].values()) == 300
    assert summary["evidence"]["input_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    with (report / "failing_sessions.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary["verdicts"]["non_compliant"] + summary["verdicts"]["inconclusive"] + 2
    assert summary["verdicts"]["inconclusive"] > 0
    assert any("(missing: /" in r["reasons"] for r in rows if r["verdict"] == "inconclusive")
    assert {r["status"] for r in rows} == {"judged", "invalid"}
    assert all(r["reasons"] for r in rows)
    page = (report / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 3
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # self-contained


def test_the_command_and_the_api_agree(client: httpx.Client, tmp_path: Path) -> None:
    batch = list(sessions(200, seed=9))
    api = client.post("/v1/audits", json={"sessions": batch}).json()
    source = write_jsonl(tmp_path / "same.jsonl", 200, seed=9)
    subprocess.run([sys.executable, "-m", "app.cli", "audit", str(source), "--report", str(tmp_path)], check=True)
    local = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    for key in ("sessions", "verdicts", "failures_per_ruling", "territorial_not_shown_first", "per_day"):
        assert api["summary"][key] == local[key], key
