"""Commands with a time limit, checks that say what they expected, and a log of steps with their times."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# every stage counts from the start of the whole test (the host stage passes it down)
STARTED = float(os.environ.setdefault("CONTAINER_TEST_STARTED", str(time.time())))


class CheckError(Exception):
    """A check that did not hold, or a command that failed or overran its time."""


def say(message: str) -> None:
    print(f"[{time.time() - STARTED:6.1f} s] {message}", flush=True)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckError(message)


def run(
    command: Sequence[str],
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Runs a command to completion within `timeout` seconds; its output is returned, not printed."""
    try:
        done = subprocess.run(
            list(command),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as overrun:
        raise CheckError(f"`{' '.join(command)}` still running after {timeout:.0f} s") from overrun
    if check and done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise CheckError(f"`{' '.join(command)}` exited with {done.returncode}:\n    " + "\n    ".join(tail))
    return done


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def megabytes(size: float) -> str:
    return f"{size / 1e6:.1f} MB"


def percentiles(samples: Sequence[float]) -> str:
    """p50 / p95 / max of durations in seconds, in milliseconds."""
    if not samples:
        return "no samples"
    ordered = sorted(samples)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    return f"p50 {at(0.5):.0f} ms, p95 {at(0.95):.0f} ms, max {ordered[-1] * 1000:.0f} ms (n={len(ordered)})"


def fail(message: str) -> int:
    print(f"container-test: FAILED: {message}", file=sys.stderr, flush=True)
    return 1
