"""The conformance kit, run as an auditor would: the installed command, over HTTP."""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.conformance.kit import MISSING, extract, load_cases
from tests.live_server import ROOT, LiveServer, free_port

KIT = [sys.executable, "-m", "app.cli", "conformance"]


def test_every_case_cites_a_rule_and_has_an_expectation() -> None:
    cases = load_cases()
    assert len(cases) >= 25
    assert all(c.rule and c.title and c.expect for c in cases)
    scenario_rules = " ".join(c.rule for c in cases if c.id.startswith("S"))
    assert all(f"FAQ-TLC-{i}" in scenario_rules for i in range(1, 6))


def test_the_real_server_passes_the_kit(server: LiveServer, tmp_path: Path) -> None:
    run = subprocess.run(
        [*KIT, "--base-url", server.base_url, "--report", str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout
    assert "FAIL" not in run.stdout
    suite = ET.parse(tmp_path / "conformance-junit.xml").getroot()
    assert suite.get("failures") == "0"
    assert int(suite.get("tests")) == len(load_cases())
    assert "Territoriality conformance kit" in (tmp_path / "conformance.html").read_text(encoding="utf-8")
    assert '"rulings_version"' in (tmp_path / "conformance.json").read_text(encoding="utf-8")


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
    assert int(suite.get("failures")) >= 20


def test_extract_paths() -> None:
    document = {"a": {"b": [{"c": 1}, {"c": 2}]}, "d": None}
    assert extract(document, "a.b[*].c") == [1, 2]
    assert extract(document, "a.b[1].c") == 2
    assert extract(document, "d") is None
    assert extract(document, "a.x") is MISSING
    assert extract(document, "a.b[5].c") is MISSING
    assert extract(document, "a.b[*].z") is MISSING
