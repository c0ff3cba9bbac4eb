"""Load from a separate process with wrk (Debian's package), pinned away from the server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.servers import LOAD_CPUS, pinned

SCRIPT = Path(__file__).with_name("post.lua")


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or "wrk"


def wrk_post(
    url: str, body: bytes | None, seconds: int = 10, connections: int = 32, threads: int = 1
) -> dict[str, float]:
    """Requests/s and latency percentiles (ms) of POSTing `body` to `url` (None: GET `url`)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as payload:
        payload.write(body or b"")
        payload.flush()
        command = pinned(
            [
                ensure_wrk(),
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "5s",
                "-s",
                str(SCRIPT),
                url,
            ],
            LOAD_CPUS,
        )
        env = {**os.environ, "BENCH_BODY_FILE": payload.name, "BENCH_METHOD": "GET" if body is None else "POST"}
        run = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    line = next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))
