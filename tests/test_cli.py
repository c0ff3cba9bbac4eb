"""The `territorialite` command in-process: help texts, --version, the audit command's exit codes."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import __version__
from app.cli import main
from app.conformance.synthetic import write_jsonl
from app.geography.loader import DEFAULT_GEODATA_DIR
from app.settings import DESCRIPTIONS, PREFIX, Settings
from tests.conformance.test_audit import GOOD, MALFORMED, PHONE, TERRITORIAL_SECOND
from tests.live_server import ROOT

PARIS_ONLY = {"with_appointment": [{"id": "b", "location": {"commune": "75056"}}]}
INCONCLUSIVE = {**GOOD, "session_id": "s5", "proposals": PARIS_ONLY}  # was a territorial physician available?


def help_of(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_help_lists_the_three_commands_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    out = help_of(capsys)
    assert all(command in out for command in ("serve", "conformance", "audit"))
    assert "territorialite conformance --base-url http://127.0.0.1:8000" in out
    assert "exit codes" in out


@pytest.mark.parametrize("command", ["conformance", "audit"])
def test_each_command_documents_an_example_and_its_exit_codes(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = help_of(capsys, command)
    assert f"example:\n  territorialite {command} " in out
    for code in ("0", "1", "2"):
        assert f"\n  {code}  " in out


def test_audit_help_says_a_line_is_one_session(capsys: pytest.CaptureFixture[str]) -> None:
    assert "one recorded booking session per line" in help_of(capsys, "audit")


def test_serve_help_lists_every_setting_its_variable_and_default(capsys: pytest.CaptureFixture[str]) -> None:
    out = help_of(capsys, "serve")
    assert "example:\n  TERRITORIALITE_HOST=0.0.0.0" in out
    defaults = Settings()
    for setting in dataclasses.fields(Settings):
        default = getattr(defaults, setting.name)
        shown = ",".join(default) if isinstance(default, tuple) else "" if default is None else str(default)
        assert f"{PREFIX}{setting.name.upper()} (default: {shown or 'none'})" in out
        assert DESCRIPTIONS[setting.name] in out  # every setting says what it does


def test_the_described_settings_are_the_settings() -> None:
    assert set(DESCRIPTIONS) == {f.name for f in dataclasses.fields(Settings)}


@pytest.mark.parametrize("command", [[], ["serve"], ["conformance"], ["audit"]])
def test_version_everywhere(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"territorialite {__version__}\n"


def test_one_version_for_the_package_the_command_and_the_contract() -> None:
    contract = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    assert version("territorialite") == __version__ == contract["info"]["version"]


# ------------------------------------------------------------------ audit: exit codes


def audit(tmp_path: Path, *sessions: object, options: tuple[str, ...] = ()) -> int:
    tmp_path.mkdir(exist_ok=True)
    source = tmp_path / "sessions.jsonl"
    source.write_text("".join(json.dumps(s) + "\n" for s in sessions), encoding="utf-8")
    return main(["audit", str(source), "--report", str(tmp_path / "report"), *options])


def test_audit_exits_0_when_every_session_is_compliant_or_out_of_scope(tmp_path: Path) -> None:
    assert audit(tmp_path, GOOD, PHONE) == 0


def test_audit_exits_1_on_a_non_compliant_session_whatever_fail_on_says(tmp_path: Path) -> None:
    assert audit(tmp_path, GOOD, TERRITORIAL_SECOND) == 1
    assert audit(tmp_path, GOOD, TERRITORIAL_SECOND, options=("--fail-on", "none")) == 1


@pytest.mark.parametrize(
    ("fail_on", "inconclusive", "invalid"),
    [
        (None, 1, 1),  # the default: both fail the run
        ("inconclusive,invalid", 1, 1),
        ("inconclusive", 1, 0),
        ("invalid", 0, 1),
        ("none", 0, 0),
    ],
)
def test_fail_on_chooses_whether_inconclusive_and_invalid_sessions_fail_the_run(
    tmp_path: Path, fail_on: str | None, inconclusive: int, invalid: int
) -> None:
    options = ("--fail-on", fail_on) if fail_on else ()
    assert audit(tmp_path / "a", GOOD, INCONCLUSIVE, options=options) == inconclusive
    assert audit(tmp_path / "b", GOOD, MALFORMED, options=options) == invalid


def test_a_bad_fail_on_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        audit(tmp_path, GOOD, options=("--fail-on", "non_compliant"))
    assert exit_.value.code == 2
    assert "expected inconclusive, invalid" in capsys.readouterr().err


def input_errors(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    array = tmp_path / "array.json"
    array.write_text(json.dumps([GOOD, PHONE]), encoding="utf-8")
    table = tmp_path / "sessions.csv"
    table.write_text("session_id,timestamp\ns1,2026-11-20T10:00:00Z\n", encoding="utf-8")
    return {
        "absent": (tmp_path / "absent.jsonl", "no such file"),
        "a folder": (tmp_path, "not a file"),
        "empty": (empty, "no session in"),
        "a JSON array": (array, "is not JSON Lines: line 1 is not a JSON object"),
        "a CSV file": (table, "is not JSON Lines: line 1 is not a JSON object"),
    }


@pytest.mark.parametrize("case", ["absent", "a folder", "empty", "a JSON array", "a CSV file"])
def test_an_unusable_file_is_a_usage_error_before_anything_is_judged(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, said = input_errors(tmp_path)[case]
    report = tmp_path / "report"
    assert main(["audit", str(path), "--report", str(report)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert said in err
    assert not report.exists()


def test_a_report_folder_that_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "sessions.jsonl", 5)
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    assert main(["audit", str(source), "--report", str(tmp_path / "a-file" / "report")]) == 2


def test_audit_reads_the_geodata_named_by_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    geodata = shutil.copytree(DEFAULT_GEODATA_DIR, tmp_path / "geodata")
    manifest = json.loads((geodata / "manifest.json").read_text(encoding="utf-8"))
    manifest["vintage"]["cog"] = "COG of the auditor's copy"
    (geodata / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setenv("TERRITORIALITE_GEODATA_DIR", str(geodata))
    assert audit(tmp_path, GOOD) == 0
    evidence = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))["evidence"]
    assert evidence["deployment"]["geodata_vintage"]["cog"] == "COG of the auditor's copy"
    assert evidence["inputs"][1]["path"] == str(geodata)


def test_audit_without_its_geodata_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TERRITORIALITE_GEODATA_DIR", str(tmp_path / "nowhere"))
    assert audit(tmp_path, GOOD) == 2
    assert "geodata not found in" in capsys.readouterr().err


def test_audit_writes_its_three_reports(tmp_path: Path) -> None:
    sessions = write_jsonl(tmp_path / "sessions.jsonl", 50)
    main(["audit", str(sessions), "--report", str(tmp_path / "report")])
    summary = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["sessions"]["total"] == 50
    assert (tmp_path / "report" / "failing_sessions.csv").read_text(encoding="utf-8").startswith("line,session_id")
    assert "<svg" in (tmp_path / "report" / "report.html").read_text(encoding="utf-8")


def test_audit_csv_cells_never_run_as_spreadsheet_formulas(tmp_path: Path) -> None:
    hostile: dict[str, Any] = {**TERRITORIAL_SECOND, "session_id": '=HYPERLINK("http://evil.example","x")'}
    sessions = tmp_path / "sessions.jsonl"
    sessions.write_text(json.dumps(hostile) + "\n", encoding="utf-8")
    assert main(["audit", str(sessions), "--report", str(tmp_path / "report")]) == 1
    with (tmp_path / "report" / "failing_sessions.csv").open(encoding="utf-8", newline="") as written:
        rows = list(csv.DictReader(written))
    assert rows[0]["session_id"] == "'" + hostile["session_id"]


def test_audit_refuses_a_key_repeated_in_a_session_as_the_api_does(tmp_path: Path) -> None:
    good = json.dumps(GOOD)
    repeated = good[:-1] + ', "channel": "phone"}'  # the same key twice: which one was meant?
    sessions = tmp_path / "sessions.jsonl"
    sessions.write_text(good.replace('"s1"', '"a"') + "\n" + repeated.replace('"s1"', '"b"') + "\n", encoding="utf-8")
    assert main(["audit", str(sessions), "--report", str(tmp_path / "report")]) == 1
    summary = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["sessions"]["invalid"] == 1
    failing = (tmp_path / "report" / "failing_sessions.csv").read_text(encoding="utf-8")
    assert "'channel' appears more than once" in failing


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("[" * 100_000 + "]" * 100_000, "not a JSON object: nested deeper than the reader goes"),
        ('{"offers": {"a": 1, "a": 2}, "channel": video}', "not a JSON object: Expecting value"),
        ('{"session_id": "\\ud800"}', "Invalid JSON: a lone surrogate"),  # POST /v1/audits: 400 malformed-json
        ('{"session_id": "s2", "x": ' + "9" * 5_000 + "}", "numbers beyond the range of a double are refused"),
    ],
    ids=["nested 100,000 deep", "a key repeated, then not JSON", "a lone surrogate", "an integer of 5,000 digits"],
)
def test_an_unreadable_line_is_an_invalid_session_not_a_crash(tmp_path: Path, line: str, said: str) -> None:
    sessions = tmp_path / "sessions.jsonl"
    sessions.write_text(json.dumps(GOOD) + "\n" + line + "\n", encoding="utf-8")
    assert main(["audit", str(sessions), "--report", str(tmp_path / "report")]) == 1
    summary = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["sessions"]["invalid"] == 1
    assert said in (tmp_path / "report" / "failing_sessions.csv").read_text(encoding="utf-8")


def test_a_line_not_in_utf_8_is_an_invalid_session(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions.jsonl"
    sessions.write_bytes(json.dumps(GOOD).encode() + b'\n{"session_id": "caf\xe9"}\n')  # Latin-1
    assert main(["audit", str(sessions), "--report", str(tmp_path / "report")]) == 1
    failing = (tmp_path / "report" / "failing_sessions.csv").read_text(encoding="utf-8")
    assert "not a JSON object: 'utf-8' codec can't decode byte 0xe9" in failing


def test_a_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Files exported on Windows often begin with one; the standard library reads it, so do we."""
    sessions = tmp_path / "sessions.jsonl"
    sessions.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\n" + json.dumps(PHONE).encode() + b"\n")
    assert main(["audit", str(sessions), "--report", str(tmp_path / "report")]) == 0
    summary = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))
    assert summary["sessions"]["invalid"] == 0
