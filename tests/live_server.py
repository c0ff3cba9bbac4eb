"""A real uvicorn server on loopback, started as its own process, as in production."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, env: dict[str, str] | None = None, workers: int = 1) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_file = tempfile.NamedTemporaryFile(prefix="territorialite-", suffix=".log", delete=False)  # noqa: SIM115
        # Read after the server stops (logs()), so kept until the tests end, then removed: runs of the
        # suite had left 1,460 of them in this machine's temporary folder (a review's count).
        atexit.register(_remove, Path(self.log_file.name))
        self.env = {
            **os.environ,
            "TERRITORIALITE_HOST": "127.0.0.1",
            "TERRITORIALITE_PORT": str(self.port),
            "TERRITORIALITE_WORKERS": str(workers),
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> LiveServer:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.logs()}")
            try:
                if httpx.get(self.base_url + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout} s: {self.logs()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
        finally:
            self.log_file.close()

    def logs(self) -> str:
        return Path(self.log_file.name).read_text(encoding="utf-8", errors="replace")


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
