"""Audit throughput and peak memory of `territorialite audit` on synthetic files of two sizes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.conformance.synthetic import write_jsonl
from bench.servers import ROOT


def audit_run(sessions: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        source = write_jsonl(Path(folder) / "sessions.jsonl", sessions, seed=11)
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "audit", str(source), "--report", str(Path(folder) / "report")],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        if status != 0:
            raise RuntimeError(f"audit failed with status {status}")
        return {
            "sessions": sessions,
            "file_mb": source.stat().st_size / 2**20,
            "seconds": elapsed,
            "sessions_per_s": sessions / elapsed,
            "peak_rss_mb": usage.ru_maxrss / 1024,
        }
