"""The package as an auditor gets it: an sdist built from the checkout, a wheel built from that sdist,
installed in a fresh virtualenv far from the checkout (the locked dependencies, then the wheel), and
its three commands run from there. Slow (about a minute, most of it installing the dependencies);
bounded by the timeouts below."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app import __version__
from tests.conformance.test_audit import GOOD, PHONE
from tests.live_server import ROOT, free_port

KEY = "package-test-key"


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    far: Path  # the working folder of the commands: nowhere near the checkout
    env: dict[str, str]

    def command(self, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / "territorialite"), *arguments],
            cwd=self.far,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def python(self, code: str) -> str:
        run = subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", code],
            cwd=self.far,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return run.stdout.strip()


def run(command: list[str], cwd: Path, timeout: float) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}{done.stderr[-3000:]}"


def source_tree(target: Path) -> Path:
    """The checkout's files as git sees them (tracked, and new ones not ignored): no venv, no build leftovers."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode("utf-8")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("package")
    dist = work / "dist"
    source = source_tree(work / "source")
    backend = "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))"
    run([sys.executable, "-c", backend, str(dist)], source, timeout=120)
    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(work / "unpacked", filter="data")
    [unpacked] = (work / "unpacked").iterdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(unpacked)], work, 300)
    [wheel] = dist.glob("*.whl")

    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)], work, timeout=120)
    venv_pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "install", "-q"]
    run([*venv_pip, "--require-hashes", "-r", str(ROOT / "requirements.lock")], work, timeout=600)
    run([*venv_pip, "--no-deps", str(wheel)], work, timeout=120)

    far = work / "elsewhere"
    far.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env = {k: v for k, v in env.items() if not k.startswith("TERRITORIALITE_")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return Installed(wheel, venv, far, env)


def test_the_wheel_carries_the_geodata_the_contract_and_the_sandbox(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    geodata = {f"app/_data/geodata/{p.name}" for p in (ROOT / "geodata").iterdir() if p.is_file()}
    assert geodata <= names  # the whole folder, whatever its files
    assert {"app/_data/openapi.yaml", "app/web/sandbox/index.html", "app/web/sandbox/sandbox.js"} <= names
    cases = {f"app/conformance/cases/{p.name}" for p in (ROOT / "app/conformance/cases").glob("*.yaml")}
    assert cases <= names
    assert not any(name.startswith(("geodata/", "tests/", "openapi.yaml")) for name in names)


def test_the_installed_package_reads_its_files_from_itself(installed: Installed) -> None:
    where = json.loads(
        installed.python(
            "import json, app, app.resources as r; "
            "print(json.dumps([app.__file__, str(r.data_path('geodata')), str(r.data_path('openapi.yaml'))]))"
        )
    )
    site_packages = str(installed.venv)
    assert all(path.startswith(site_packages) for path in where), where
    assert installed.command("--version").stdout == f"territorialite {__version__}\n"


@pytest.fixture(scope="module")
def served(installed: Installed) -> Iterator[str]:
    port = free_port()
    env = {**installed.env, "TERRITORIALITE_PORT": str(port), "TERRITORIALITE_API_KEYS": KEY}
    log = (installed.far / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(installed.venv / "bin" / "territorialite"), "serve"],
        cwd=installed.far,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    try:
        assert process.poll() is None, (installed.far / "serve.log").read_text(encoding="utf-8")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        log.close()


def test_serve_answers_readiness_rankings_the_contract_and_the_sandbox(served: str) -> None:
    with httpx.Client(base_url=served, timeout=30, headers={"X-API-Key": KEY}) as client:
        assert client.get("/readyz").json()["status"] == "ready"
        body = {
            "patient": {"location": {"postal_code": "13001"}},
            "physicians": [
                {"id": "paris", "location": {"commune": "75056"}},
                {"id": "marseille", "location": {"commune": "13055"}},
            ],
        }
        ranking = client.post("/v1/rankings", json=body)
        assert ranking.status_code == 200, ranking.text
        assert [r["id"] for r in ranking.json()["ranking"]] == ["marseille", "paris"]
        assert client.get("/openapi.yaml").content == (ROOT / "openapi.yaml").read_bytes()
        assert client.get("/docs/sandbox.js").status_code == 200
        assert client.get("/docs").status_code == 200
        for page in ("/demo", "/demo/demo.js", "/demo/demo.css"):  # the reference booking page
            assert client.get(page).status_code == 200, page
        assert client.get("/v1/communes", params={"q": "annecy"}).json()["communes"][0]["code"] == "74010"
        assert client.get("/").json()["links"]["docs"] == "/docs"


def test_conformance_passes_against_the_installed_server(installed: Installed, served: str) -> None:
    report = installed.far / "conformance"
    done = installed.command("conformance", "--base-url", served, "--api-key", KEY, "--report", str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    evidence = json.loads((report / "conformance.json").read_text(encoding="utf-8"))["evidence"]
    assert evidence["inputs"][0]["path"].startswith(str(installed.venv))
    assert evidence["deployment"]["described"] is True


def test_audit_writes_its_reports_from_the_installed_package(installed: Installed) -> None:
    sessions = installed.far / "sessions.jsonl"
    sessions.write_text(json.dumps(GOOD) + "\n" + json.dumps(PHONE) + "\n", encoding="utf-8")
    done = installed.command("audit", str(sessions), "--report", "audit")
    assert done.returncode == 0, done.stdout + done.stderr
    report = installed.far / "audit"
    assert {p.name for p in report.iterdir()} == {"summary.json", "failing_sessions.csv", "report.html"}
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["verdicts"]["compliant"] == 1
    assert summary["evidence"]["inputs"][1]["path"].startswith(str(installed.venv))
