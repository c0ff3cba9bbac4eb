"""Real servers on loopback for the benchmarks, pinned to one core; the load generator gets the other."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SERVER_CPUS = os.environ.get("BENCH_SERVER_CPUS", "0")
LOAD_CPUS = os.environ.get("BENCH_LOAD_CPUS", "1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(command: list[str], cpus: str) -> list[str]:
    return ["taskset", "-c", cpus, *command] if shutil.which("taskset") and cpus else command


@contextlib.contextmanager
def service(
    workers: int = 1, extra_env: dict[str, str] | None = None, root: Path = ROOT, warm: bool = True
) -> Iterator[tuple[str, int, float]]:
    """The service as `territorialite serve` runs it: (base URL, pid, seconds from spawn to ready).
    `root`: another checkout's code, run with this venv (a baseline to compare with). `warm`: handed
    over once a commune search has answered too (its index is built in the background once the
    worker is ready), so that nothing of the start runs during a measurement."""
    port = free_port()
    env = {**os.environ, "TERRITORIALITE_PORT": str(port), "TERRITORIALITE_WORKERS": str(workers), **(extra_env or {})}
    if root != ROOT:
        env["PYTHONPATH"] = str(root)
    command = pinned([sys.executable, "-m", "app.cli", "serve"], SERVER_CPUS if workers == 1 else "")
    yield from _run(command, env, port, "/readyz", root, _search_once if warm else None)


def _search_once(url: str) -> None:
    httpx.get(url + "/v1/communes", params={"q": "lyon"}, timeout=60).raise_for_status()


@contextlib.contextmanager
def floor_app() -> Iterator[tuple[str, int, float]]:
    port = free_port()
    command = pinned(
        [sys.executable, "-m", "uvicorn", "bench.floor_app:app", "--port", str(port), "--log-level", "warning",
         "--no-access-log", "--loop", "asyncio", "--http", "httptools"],
        SERVER_CPUS,
    )  # fmt: skip
    yield from _run(command, dict(os.environ), port, None)


def _run(
    command: list[str],
    env: dict[str, str],
    port: int,
    ready_path: str | None,
    root: Path = ROOT,
    once_ready: Callable[[str], None] | None = None,
) -> Iterator[tuple[str, int, float]]:
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        ready = _wait(url, ready_path, process)
        if once_ready is not None:
            once_ready(url)
        yield url, process.pid, ready - started
    finally:
        process.terminate()
        process.wait(30)


def _wait(url: str, path: str | None, process: subprocess.Popen[bytes]) -> float:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            response = httpx.get(url + (path or "/"), timeout=1)
            if path is None or response.status_code == 200:
                return time.perf_counter()
        except httpx.TransportError:
            pass
        time.sleep(0.01)
    raise RuntimeError("server not ready in 60 s")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn's workers), in MiB."""
    return sum(status_mb(candidate, "VmRSS:") for candidate in [pid, *_children(pid)])


def peak_rss_mb(pid: int) -> float:
    """The most resident memory a process, or the largest of its children (uvicorn's workers), has
    reached (the kernel's high-water mark, VmHWM), in MiB: since it started, or since `reset_peak`."""
    return max(status_mb(candidate, "VmHWM:") for candidate in [pid, *_children(pid)])


def reset_peak(pid: int) -> bool:
    """Resets the high-water mark of a process and its children (clear_refs 5, Linux 4.0 on), so that
    `peak_rss_mb` tells a workload's peak, not the start-up's (loading the geodata peaks higher than
    the idle worker stays). False when the kernel refuses it (another user's process)."""
    try:
        for candidate in [pid, *_children(pid)]:
            Path(f"/proc/{candidate}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def status_mb(pid: int, field: str) -> float:
    """A memory field of a process's status ("VmRSS:", "VmHWM:"), in MiB; 0 for a process gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return 0.0


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    if not path.exists():
        return []
    direct = [int(p) for p in path.read_text().split()]
    return direct + [grandchild for child in direct for grandchild in _children(child)]
