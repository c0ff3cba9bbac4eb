"""The image and the compose stack, built and run for real (`make container-test`, tools/container_test).

Needs root and Debian's podman, runc, debootstrap and docker-compose, plus dockerd unpacked from
docker.io: CI installs them (.ci/run) and requires this test (REQUIRE_CONTAINERS=1); elsewhere it is
skipped with the reason, and `make container-test` as root installs them. Its output (image size,
time to ready, the replicas that answered, the attacks through nginx) goes to the terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.live_server import ROOT

TOOL = [sys.executable, "-m", "tools.container_test"]
MISSING = 3  # the tool's exit code when the tools are missing


def _missing_tools() -> str | None:
    check = subprocess.run([*TOOL, "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    if check.returncode == 0:
        return None
    if check.returncode != MISSING:
        raise RuntimeError(f"tools.container_test --check failed: {check.stdout}{check.stderr}")
    return check.stdout.strip()


missing = _missing_tools()
if missing:
    if os.environ.get("REQUIRE_CONTAINERS"):
        raise RuntimeError(f"REQUIRE_CONTAINERS is set but {missing}")
    pytest.skip(missing, allow_module_level=True)


def test_image_and_compose_stack_run_as_documented(capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print("\n--- make container-test", flush=True)
        run = subprocess.run(TOOL, cwd=ROOT, timeout=2400, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, "the container test failed: its output is above"
