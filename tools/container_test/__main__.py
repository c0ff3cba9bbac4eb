"""python -m tools.container_test [--install | --check] (see the package's docstring)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from tools.container_test import toolchain
from tools.container_test.steps import STARTED, CheckError, fail, run, say

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = 3  # the exit code when the tools are missing: the suite skips, or fails when it requires them
# Bounds on the whole: the first run makes the stand-ins (~2 min); a run takes ~3 min.
BUILD_STAGE_SECONDS = 1800
RUN_STAGE_SECONDS = 900
WORK_SIZE = "6g"  # a ceiling for the work dir in memory; a run uses ~1.5 GB at most


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.container_test", description=__doc__)
    parser.add_argument("--install", action="store_true", help="install the missing tools (root; Debian packages)")
    parser.add_argument("--check", action="store_true", help="exit 0 if the tools are there, 3 (and say why) if not")
    parser.add_argument(
        "--probe-seconds", type=float, default=10, help="how long to measure probe latencies under load (0: skip)"
    )
    parser.add_argument("--stage", choices=("build", "run"), help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.install:
            toolchain.install()
            print(f"container-test tools ready: {', '.join(toolchain.COMMANDS)}; {toolchain.engine_versions()}")
            return 0
        if args.check:
            return _report_missing(toolchain.missing_tools())
        if args.stage == "build":
            return _build_stage(args.work, args.probe_seconds)
        if args.stage == "run":
            return _run_stage(args.work, args.probe_seconds)
        return _host_stage(args.probe_seconds)
    except CheckError as error:
        return fail(str(error))


def _report_missing(missing: list[str]) -> int:
    if not missing:
        return 0
    print(
        f"container test skipped: missing {'; '.join(missing)}. As root, `make container-test` installs them "
        "(Debian's podman, runc, debootstrap, docker-compose, iptables, iproute2; dockerd unpacked, not installed)."
    )
    return SKIPPED


def _host_stage(probe_seconds: float) -> int:
    missing = toolchain.missing_tools()
    if missing:
        return _report_missing(missing)
    versions = run(["podman", "--version"], timeout=30).stdout.strip()
    compose = run(["docker-compose", "version", "--short"], timeout=30).stdout.strip()
    say(f"{versions}; docker-compose {compose}; engine unpacked from {toolchain.engine_versions()}")
    work = Path(tempfile.mkdtemp(prefix="territorialite-container-test-", dir="/var/tmp"))
    try:
        stage = subprocess.run(
            _in_namespaces("build", work, probe_seconds, network=False),
            cwd=ROOT,
            timeout=BUILD_STAGE_SECONDS,
            stdin=subprocess.DEVNULL,
        )
        code = stage.returncode
    except subprocess.TimeoutExpired:
        code = fail(f"still running after {BUILD_STAGE_SECONDS} s: stopped")
    finally:
        left = _processes_using(work)
        run(["rm", "-rf", "--one-file-system", str(work)], timeout=600)
    if left:
        return fail(f"processes left running: {left}")
    if code == 0:
        say(f"container-test: PASSED in {time.time() - STARTED:.0f} s; nothing left running")
    return code


def _build_stage(work: Path, probe_seconds: float) -> int:
    """PID 1 of a private PID and mount namespace, on the host's network (pip needs PyPI)."""
    from tools.container_test import engine

    # Everything of this run lives in memory and vanishes with this mount namespace: deleting the
    # same ~1.5 GB of small files from disk took 35-55 s here.
    # podman keeps a blob cache in /var/lib/containers/cache whatever its settings: that one too.
    podman_cache = Path("/var/lib/containers")
    podman_cache.mkdir(exist_ok=True)
    for folder, size in ((work, WORK_SIZE), (podman_cache, "64m")):
        run(["mount", "-t", "tmpfs", "-o", f"mode=0700,size={size}", "container-test", str(folder)], timeout=30)
    engine.build_image(work)
    run(["rm", "-rf", str(work / "podman")], timeout=300)  # no more use for podman's storage: free the memory
    stage = subprocess.run(
        _in_namespaces("run", work, probe_seconds, network=True),
        cwd=ROOT,
        timeout=RUN_STAGE_SECONDS,
        stdin=subprocess.DEVNULL,
    )
    return stage.returncode


def _run_stage(work: Path, probe_seconds: float) -> int:
    """In a private network namespace: dockerd, the image, the compose stack."""
    from tools.container_test import scenarios
    from tools.container_test.engine import Engine

    dockerd = Engine(work)
    dockerd.start()
    try:
        dockerd.load_images(work / "image.tar")
        scenarios.image_size(dockerd)
        scenarios.single_container(dockerd, probe_seconds)
        scenarios.compose_stack(dockerd)
        return 0
    except CheckError as error:
        scenarios.diagnostics(dockerd)
        return fail(str(error))
    except Exception:
        traceback.print_exc()
        scenarios.diagnostics(dockerd)
        return fail("unexpected error")
    finally:
        dockerd.stop()


def _in_namespaces(stage: str, work: Path, probe_seconds: float, network: bool) -> list[str]:
    """The command that runs a stage in new namespaces: as PID 1 of a PID namespace, when it ends,
    for any reason, the kernel ends everything it started, and mounts vanish with the mount namespace."""
    namespaces = ["--net"] if network else ["--mount", "--pid", "--mount-proc"]
    return [
        "unshare",
        *namespaces,
        "--fork",
        "--kill-child=SIGKILL",
        "--",
        sys.executable,
        "-m",
        "tools.container_test",
        "--stage",
        stage,
        "--work",
        str(work),
        "--probe-seconds",
        str(probe_seconds),
    ]


def _processes_using(work: Path) -> list[str]:
    """Processes whose command line names the work dir: none should outlive the test."""
    found = []
    for process in Path("/proc").glob("[0-9]*"):
        try:
            command = (process / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(work) in command and int(process.name) != os.getpid():
            found.append(f"{process.name}: {command[:120]}")
    return found


if __name__ == "__main__":
    sys.exit(main())
