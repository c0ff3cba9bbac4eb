"""The `territorialite` command in-process: its parser, and the audit command on a small file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.conformance.synthetic import write_jsonl


def test_help_lists_the_three_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert all(command in out for command in ("serve", "conformance", "audit"))


def test_audit_of_a_missing_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(tmp_path / "absent.jsonl"), "--report", str(tmp_path / "r")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_audit_writes_its_three_reports(tmp_path: Path) -> None:
    sessions = write_jsonl(tmp_path / "sessions.jsonl", 50)
    main(["audit", str(sessions), "--report", str(tmp_path / "report")])
    summary = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["sessions"]["total"] == 50
    assert (tmp_path / "report" / "failing_sessions.csv").read_text(encoding="utf-8").startswith("line,session_id")
    assert "<svg" in (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
