from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import Settings, SettingsError
from tests.live_server import ROOT


def test_defaults_without_environment() -> None:
    settings = Settings.from_environ({})
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.cors_origins == ()
    assert settings.api_keys == ()
    assert settings.max_body_bytes == 2 * 1024 * 1024
    assert (settings.header_timeout_seconds, settings.body_timeout_seconds, settings.body_min_rate) == (10, 10, 8192)
    assert (settings.write_timeout_seconds, settings.max_connections, settings.compute_threads) == (30, 4096, 1)
    assert settings.max_queued_bytes == 2 * settings.max_body_bytes
    assert (settings.drain_bytes, settings.max_answer_bytes, settings.inline_body_bytes) == (8 << 20, 16 << 20, 8192)
    assert settings.probe_port is None  # probes on the main port unless a deployment sets one


def test_the_work_a_worker_holds_follows_the_body_limit_unless_set() -> None:
    assert Settings.from_environ({"TERRITORIALITE_MAX_BODY_BYTES": "8000000"}).max_queued_bytes == 16_000_000


def test_limits_on_hostile_traffic_are_read() -> None:
    settings = Settings.from_environ(
        {
            "TERRITORIALITE_HEADER_TIMEOUT_SECONDS": "3",
            "TERRITORIALITE_BODY_TIMEOUT_SECONDS": "4",
            "TERRITORIALITE_BODY_MIN_RATE": "1000",
            "TERRITORIALITE_WRITE_TIMEOUT_SECONDS": "5",
            "TERRITORIALITE_MAX_CONNECTIONS": "100",
            "TERRITORIALITE_MAX_QUEUED_BYTES": "9000000",
            "TERRITORIALITE_COMPUTE_THREADS": "2",
            "TERRITORIALITE_DRAIN_BYTES": "0",
            "TERRITORIALITE_MAX_ANSWER_BYTES": "2000000",
            "TERRITORIALITE_INLINE_BODY_BYTES": "0",
        }
    )
    assert (settings.header_timeout_seconds, settings.body_timeout_seconds, settings.body_min_rate) == (3, 4, 1000)
    assert (settings.write_timeout_seconds, settings.max_connections, settings.max_queued_bytes) == (5, 100, 9_000_000)
    assert (settings.compute_threads, settings.drain_bytes, settings.max_answer_bytes) == (2, 0, 2_000_000)
    assert settings.inline_body_bytes == 0


def test_values_are_read_and_cast() -> None:
    settings = Settings.from_environ(
        {
            "TERRITORIALITE_PORT": "9000",
            "TERRITORIALITE_WORKERS": "4",
            "TERRITORIALITE_LOG_LEVEL": "DEBUG",
            "TERRITORIALITE_CORS_ORIGINS": "https://a.example, https://b.example",
            "TERRITORIALITE_API_KEYS": "k1,k2",
        }
    )
    assert (settings.port, settings.workers, settings.log_level) == (9000, 4, "debug")
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.api_keys == ("k1", "k2")
    assert "k1" not in repr(settings)  # keys never print


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "eighty", "must be an integer"),
        ("PORT", "70000", "between 0 and 65535"),
        ("WORKERS", "0", "between 1 and 64"),
        ("LOG_LEVEL", "loud", "must be one of"),
        ("HEADER_TIMEOUT_SECONDS", "0", "between 1 and 300"),
        ("BODY_MIN_RATE", "fast", "must be an integer"),
        ("MAX_CONNECTIONS", "0", "between 1 and"),
        ("COMPUTE_THREADS", "65", "between 1 and 64"),
        ("MAX_ANSWER_BYTES", "1000", "between 1048576 and"),
        ("MAX_QUEUED_BYTES", "1048576", "at least MAX_BODY_BYTES"),
        ("PROBE_PORT", "0", "between 1 and 65535"),
        ("PROBE_PORT", "8000", "must differ from TERRITORIALITE_PORT"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=f"TERRITORIALITE_{name}.*{message}"):
        Settings.from_environ({f"TERRITORIALITE_{name}": value})


def test_serve_refuses_a_bad_setting_with_a_message() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=ROOT,
        env={"TERRITORIALITE_PORT": "eighty", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "TERRITORIALITE_PORT must be an integer" in run.stderr


def test_serve_refuses_a_metrics_folder_that_is_not_there(tmp_path: Path) -> None:
    """prometheus_client would fail on its first metric with a traceback (exit code 1)."""
    missing = tmp_path / "gone"
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=ROOT,
        env={"PROMETHEUS_MULTIPROC_DIR": str(missing), "TERRITORIALITE_PORT": "0", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (run.returncode, run.stderr) == (2, f"territorialite: PROMETHEUS_MULTIPROC_DIR is not a folder: {missing}\n")


def test_serve_with_several_workers_and_no_writable_temporary_folder_says_so() -> None:
    """A read-only root without a writable /tmp (Kubernetes' readOnlyRootFilesystem): mkdtemp failed
    with a traceback (exit code 1) before any worker started."""
    no_folder = (
        "import sys, tempfile; tempfile.tempdir = '/nonexistent/tmp'; from app.cli import main; sys.exit(main())"
    )
    run = subprocess.run(
        [sys.executable, "-c", no_folder, "serve"],
        cwd=ROOT,
        env={"TERRITORIALITE_WORKERS": "2", "TERRITORIALITE_PORT": "0", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.startswith(
        "territorialite: 2 workers share their metrics through a folder, and none could be made"
    )
    assert run.stderr.endswith("set PROMETHEUS_MULTIPROC_DIR to a writable folder, or TMPDIR\n")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_exits_3_when_the_application_cannot_start(tmp_path: Path, workers: str) -> None:
    """As `serve --help` says, with one worker or several (several exited 0, a review found)."""
    env = {"TERRITORIALITE_GEODATA_DIR": str(tmp_path), "TERRITORIALITE_WORKERS": workers, "PATH": ""}
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=ROOT,
        env={**env, "TERRITORIALITE_PORT": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 3, run.stderr[-2000:]
    assert "Application startup failed" in run.stderr


def test_the_readme_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `TERRITORIALITE_([A-Z_]+)` \|", readme, re.MULTILINE))
    assert listed == {setting.name.upper() for setting in dataclasses.fields(Settings)}
