"""Audit throughput and peak memory of `territorialite audit` on synthetic files of two sizes, and the
memory that finding repeated session ids costs."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from app.conformance.synthetic import sessions as synthetic_sessions
from app.conformance.synthetic import write_jsonl
from app.contract.audits import BATCH
from bench.servers import ROOT, SERVER_CPUS, pinned

# Linux carries a process's peak memory across exec: a child spawned by this process (which holds
# the geodata and more) would report this process's peak as its own. A small launcher spawns the
# audit and reports the audit's own peak and time.
_LAUNCHER = """
import resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
"""


def batch_lines() -> list[bytes]:
    """One batch of the synthetic sessions the audit runs read, as lines of JSON."""
    return [json.dumps(session).encode() for session in synthetic_sessions(BATCH, seed=11)]


def audit_run(sessions: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        source = write_jsonl(Path(folder) / "sessions.jsonl", sessions, seed=11)
        audit = [sys.executable, "-m", "app.cli", "audit", str(source), "--report", str(Path(folder) / "report")]
        run = subprocess.run(
            pinned([sys.executable, "-c", _LAUNCHER, *audit], SERVER_CPUS),  # one core, as the server's
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode not in (0, 1):  # 1: non-compliant sessions found, as expected
            raise RuntimeError(f"audit failed with status {run.returncode}: {run.stderr[-2000:]}")
        seconds, peak_kb = run.stdout.split()
        return {
            "sessions": sessions,
            "file_mb": source.stat().st_size / 2**20,
            "seconds": float(seconds),
            "sessions_per_s": sessions / float(seconds),
            "peak_rss_mb": int(peak_kb) / 1024,
        }


def seen_ids_memory(count: int) -> dict[str, float]:
    """Memory and time to remember `count` session ids as they come: the audit's SeenIds against a set of
    the same 8-byte digests as Python integers, and a set of the id strings themselves. Memory is the
    peak of traced allocations (a run under tracemalloc); time, a second run without it."""
    import hashlib
    import tracemalloc

    from app.contract.audits import SeenIds

    def session_ids() -> Iterator[str]:
        return (f"session-{number:012d}" for number in range(count))

    def seen_ids() -> object:
        seen = SeenIds()
        for session_id in session_ids():
            seen.add(session_id)
        return seen

    def digest_set() -> object:
        return {int.from_bytes(hashlib.blake2b(i.encode(), digest_size=8).digest(), "little") for i in session_ids()}

    def string_set() -> object:
        return set(session_ids())

    row: dict[str, float] = {"ids": count}
    for name, fill in (("seen_ids", seen_ids), ("digest_set", digest_set), ("string_set", string_set)):
        tracemalloc.start()
        kept = fill()
        row[f"{name}_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        del kept
        started = time.perf_counter()
        kept = fill()
        row[f"{name}_s"] = time.perf_counter() - started
        del kept
    return row
