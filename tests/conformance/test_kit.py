"""The conformance kit, run as an auditor would: the command, over HTTP, and what its reports prove."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app import __version__
from app.cli import main
from app.conformance.kit import CASES_DIR, DESCRIPTION, MISSING, extract, load_cases, load_kit
from tests.live_server import ROOT, LiveServer, free_port

KIT = [sys.executable, "-m", "app.cli", "conformance"]
REPORTS = ("conformance-junit.xml", "conformance.json", "conformance.html")
UTC_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
KEY = "auditor-key-7f3a"


def sha256sum_listing(directory: Path, pattern: str = "*.yaml") -> str:
    """What `cd DIR && LC_ALL=C sha256sum PATTERN | sha256sum` prints: coreutils, not our code."""
    command = f"LC_ALL=C sha256sum {pattern} | sha256sum"
    run = subprocess.run(command, shell=True, cwd=directory, capture_output=True, text=True, check=True)
    return run.stdout.split()[0]


def test_every_case_cites_a_rule_and_has_an_expectation() -> None:
    cases = load_cases()
    assert len(cases) >= 25
    assert all(c.rule and c.title and c.expect for c in cases)
    scenario_rules = " ".join(c.rule for c in cases if c.id.startswith("S"))
    assert all(f"FAQ-TLC-{i}" in scenario_rules for i in range(1, 6))


def test_the_real_server_passes_the_kit_and_the_reports_carry_the_evidence(server: LiveServer, tmp_path: Path) -> None:
    run = subprocess.run(
        [*KIT, "--base-url", server.base_url, "--report", str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "FAIL" not in run.stdout
    suite = ET.parse(tmp_path / "conformance-junit.xml").getroot()
    assert suite.get("failures") == "0"
    assert int(suite.get("tests", "")) == len(load_cases())

    report = json.loads((tmp_path / "conformance.json").read_text(encoding="utf-8"))
    evidence = report["evidence"]
    assert evidence["tool"]["name"] == "territorialite"
    assert evidence["tool"]["version"] == __version__
    assert evidence["tool"]["python"] == platform.python_version()
    assert evidence["tool"]["packages"]["pydantic"] == importlib.metadata.version("pydantic")
    assert UTC_SECONDS.match(evidence["run"]["started_at"])
    assert evidence["run"]["started_at"] <= evidence["run"]["finished_at"]
    assert evidence["run"]["command_line"] == (
        f"territorialite conformance --base-url {server.base_url} --report {tmp_path}"
    )
    [cases] = evidence["inputs"]
    assert cases["sha256"] == sha256sum_listing(CASES_DIR)
    assert cases["files"]["rankings.yaml"] == hashlib.sha256((CASES_DIR / "rankings.yaml").read_bytes()).hexdigest()
    rulings = httpx.get(server.base_url + "/v1/rulings").json()
    assert evidence["deployment"] == {
        "where": server.base_url,
        "described": True,
        "version": __version__,
        "geodata_vintage": httpx.get(server.base_url + "/readyz").json()["geodata"],
        "rulings_version": rulings["version"],
        "policies": ["departement v1", "radius v1"],
    }

    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert suite.get("timestamp") == evidence["run"]["started_at"]
    assert properties["conformance cases: SHA-256"] == cases["sha256"]
    assert properties["deployment: rulings version"] == rulings["version"]
    assert properties["command line"] == evidence["run"]["command_line"]
    page = (tmp_path / "conformance.html").read_text(encoding="utf-8")
    for fact in (cases["sha256"], evidence["run"]["started_at"], rulings["version"], "departement v1, radius v1"):
        assert fact in page


def test_the_readme_publishes_the_digest_of_the_shipped_kit() -> None:
    """Change a case, and this fails until the README says the new digest: certifiers compare it."""
    published = re.search(
        r"The kit shipped with this version has SHA-256 `([0-9a-f]{64})`", (ROOT / "README.md").read_text()
    )
    assert published is not None
    assert published.group(1) == load_kit().source.sha256


def test_the_digest_is_that_of_the_cases_actually_run(server: LiveServer, tmp_path: Path) -> None:
    copy = shutil.copytree(CASES_DIR, tmp_path / "cases")
    scenarios = copy / "scenarios.yaml"
    scenarios.write_text(
        scenarios.read_text(encoding="utf-8").replace("title: ", "title: (auditor's copy) ", 1), encoding="utf-8"
    )
    arguments = ["conformance", "--base-url", server.base_url, "--cases", str(copy), "--report", str(tmp_path / "r")]
    assert main(arguments) == 0
    [cases] = json.loads((tmp_path / "r" / "conformance.json").read_text(encoding="utf-8"))["evidence"]["inputs"]
    shipped = load_kit().source
    assert cases["path"] == str(copy.resolve())
    assert cases["sha256"] == sha256sum_listing(copy) != shipped.sha256
    assert cases["files"]["rankings.yaml"] == shipped.files["rankings.yaml"]
    assert cases["files"]["scenarios.yaml"] != shipped.files["scenarios.yaml"]


@pytest.fixture(scope="module")
def keyed_server() -> Iterator[LiveServer]:
    live = LiveServer(env={"TERRITORIALITE_API_KEYS": f"other-key,{KEY}"}).start()
    yield live
    live.stop()


def test_a_keyed_deployment_describes_itself_fully_with_the_key(keyed_server: LiveServer, tmp_path: Path) -> None:
    code = main(["conformance", "--base-url", keyed_server.base_url, "--api-key", KEY, "--report", str(tmp_path)])
    assert code == 0
    evidence = json.loads((tmp_path / "conformance.json").read_text(encoding="utf-8"))["evidence"]
    deployment = evidence["deployment"]
    rulings = httpx.get(keyed_server.base_url + "/v1/rulings", headers={"X-API-Key": KEY}).json()
    assert deployment["described"] is True
    assert deployment["rulings_version"] == rulings["version"]
    assert deployment["policies"] == ["departement v1", "radius v1"]
    assert deployment["geodata_vintage"]["cog"]
    assert "--api-key '***'" in evidence["run"]["command_line"]
    for report in REPORTS:
        assert KEY not in (tmp_path / report).read_text(encoding="utf-8"), report


@pytest.mark.parametrize(
    ("key", "said"), [(None, "it requires an API key: --api-key KEY"), ("wrong", "the API key was refused")]
)
def test_a_missing_or_refused_key_is_a_usage_error_said_once(
    keyed_server: LiveServer, key: str | None, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["conformance", "--base-url", keyed_server.base_url, "--report", str(tmp_path)]
    assert main([*arguments, *(["--api-key", key] if key else [])]) == 2
    out, err = capsys.readouterr()
    assert err.count("territorialite:") == 1
    assert said in err
    assert "PASS" not in out
    assert "FAIL" not in out
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_target_is_a_usage_error_said_once_before_any_case(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    run = subprocess.run([*KIT, "--base-url", closed, "--report", str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith(f"territorialite: cannot reach {closed}: ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["http://auditor:s3cret@127.0.0.1:9", "http://auditor:s3cret@[::1"])
def test_credentials_in_the_base_url_are_refused_and_never_echoed(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "--base-url", url]) == 2
    said = capsys.readouterr().err
    assert "--base-url" in said
    assert "s3cret" not in said


def test_options_cannot_be_abbreviated(capsys: pytest.CaptureFixture[str]) -> None:
    """`--api k1` read as `--api-key k1` would escape the key's masking in the reports."""
    with pytest.raises(SystemExit) as refused:
        main(["conformance", "--base-url", "http://127.0.0.1:9", "--api", "k1"])
    assert refused.value.code == 2
    assert "unrecognized arguments: --api" in capsys.readouterr().err


def test_a_failed_run_leaves_no_report_folder_behind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "never-written"
    assert main(["conformance", "--base-url", f"http://127.0.0.1:{free_port()}", "--report", str(report)]) == 2
    assert "cannot reach" in capsys.readouterr().err
    assert not report.exists()


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "localhost", "ftp://127.0.0.1/", "http://", "http://[::1"])
def test_a_base_url_that_is_no_http_url_is_a_usage_error(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "--base-url", url]) == 2
    assert "--base-url" in capsys.readouterr().err


def unreadable_kits(tmp_path: Path) -> dict[str, Path]:
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = shutil.copytree(CASES_DIR, tmp_path / "broken")
    (broken / "rankings.yaml").write_text("- id: [unclosed\n", encoding="utf-8")
    twice = shutil.copytree(CASES_DIR, tmp_path / "twice")
    shutil.copy(twice / "rankings.yaml", twice / "rankings-again.yaml")
    odd = shutil.copytree(CASES_DIR, tmp_path / "odd")
    (odd / "extra.yaml").write_text("- id: X1\n  title: no rule, request or expectation\n", encoding="utf-8")
    shapes = {
        "request_as_text": '- {id: X1, title: t, rule: r, request: "GET /", expect: {status: 200}}\n',
        "no_method": "- {id: X1, title: t, rule: r, request: {path: /x}, expect: {status: 200}}\n",
        "json_as_list": "- {id: X1, title: t, rule: r, request: {method: GET, path: /x}, expect: {json: [1]}}\n",
    }
    misshaped = {}
    for name, text in shapes.items():
        misshaped[name] = shutil.copytree(CASES_DIR, tmp_path / name)
        (misshaped[name] / "extra.yaml").write_text(text, encoding="utf-8")
    return {
        **misshaped,
        "absent": tmp_path / "absent",
        "empty": empty,
        "broken": broken,
        "twice": twice,
        "odd": odd,
    }


@pytest.mark.parametrize(
    ("kit", "said"),
    [
        ("absent", "no such folder of cases"),
        ("empty", "no case file (*.yaml)"),
        ("broken", "rankings.yaml is not YAML"),
        ("twice", "duplicate case ids"),
        ("odd", "extra.yaml: case 0.rule: Field required"),
        ("request_as_text", "extra.yaml: case 0.request: Input should be a valid dictionary"),
        ("no_method", "extra.yaml: case 0.request.method: Field required"),
        ("json_as_list", "extra.yaml: case 0.expect.json: Input should be a valid dictionary"),
    ],
)
def test_unreadable_cases_are_a_usage_error(
    kit: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = unreadable_kits(tmp_path)[kit]
    assert main(["conformance", "--base-url", "http://127.0.0.1:9", "--cases", str(cases)]) == 2
    assert said in capsys.readouterr().err


def test_a_report_folder_that_cannot_be_written_is_a_usage_error(server: LiveServer, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("", encoding="utf-8")
    assert main(["conformance", "--base-url", server.base_url, "--report", str(a_file / "reports")]) == 2


@pytest.fixture(scope="module")
def wrong_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.conformance.wrong_server:app",
            "--port",
            str(port),
            "--log-level",
            "error",
        ],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(url + "/nowhere", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(10)


def test_a_wrong_server_fails_the_kit_with_readable_differences(wrong_server: str, tmp_path: Path) -> None:
    run = subprocess.run([*KIT, "--base-url", wrong_server, "--report", str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 1
    assert "FAIL R01" in run.stdout
    assert '- ranking[*].id: expected ["marseille", "avignon", "nice", "ajaccio", "paris"], got ["paris",' in run.stdout
    assert "FAIL R15" in run.stdout  # the wrong ETHT.01 text
    assert "FAIL S06" in run.stdout
    suite = ET.parse(tmp_path / "conformance-junit.xml").getroot()
    assert int(suite.get("failures", "")) >= 20
    # it answers, but does not describe itself: the evidence says so, and why
    deployment = json.loads((tmp_path / "conformance.json").read_text(encoding="utf-8"))["evidence"]["deployment"]
    assert deployment == {
        "where": wrong_server,
        "described": False,
        "not_described_because": ", ".join(f"GET {path} answered 404" for path in DESCRIPTION),
    }


def test_extract_paths() -> None:
    document = {"a": {"b": [{"c": 1}, {"c": 2}]}, "d": None}
    assert extract(document, "a.b[*].c") == [1, 2]
    assert extract(document, "a.b[1].c") == 2
    assert extract(document, "d") is None
    assert extract(document, "a.x") is MISSING
    assert extract(document, "a.b[5].c") is MISSING
    assert extract(document, "a.b[*].z") is MISSING
