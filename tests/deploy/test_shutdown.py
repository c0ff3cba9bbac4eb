"""SIGTERM with requests in flight, on the multi-worker server: every request gets a complete
answer or a clean refusal (no truncated body, no reset after the server started answering)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time

import httpx

from tests.live_server import LiveServer

BODY = {
    "patient": {"location": {"postal_code": "69003"}},
    "physicians": [{"id": f"p{i}", "location": {"commune": "69123" if i % 2 else "75056"}} for i in range(3000)],
}


def test_sigterm_drains_in_flight_requests() -> None:
    server = LiveServer(workers=2).start()
    outcomes: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + 8

    def client() -> None:
        with httpx.Client(base_url=server.base_url, timeout=20) as c:
            while time.monotonic() < stop_at:
                try:
                    response = c.post("/v1/rankings", json=BODY)
                except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as error:
                    outcome = f"refused:{type(error).__name__}"
                else:
                    ranking = json.loads(response.content)["ranking"] if response.status_code == 200 else None
                    complete = ranking is not None and len(ranking) == len(BODY["physicians"])
                    outcome = "complete" if complete else f"status:{response.status_code}"
                with lock:
                    outcomes.append(outcome)
                if outcome.startswith("refused"):
                    return

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(2)
    with lock:
        before = outcomes.count("complete")
    code = server.stop(signal.SIGTERM, timeout=30)
    for t in threads:
        t.join(30)

    assert code == 0, server.logs()
    assert before > 0
    assert outcomes.count("complete") > before  # requests in flight at SIGTERM were answered
    assert all(o == "complete" or o.startswith(("refused:", "status:503")) for o in outcomes), outcomes
    assert "Finished server process" in server.logs() or "Shutting down" in server.logs()


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as listing:
        return [int(child) for child in listing.read().split()]


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_stop_when_their_supervisor_is_killed_outright() -> None:
    """SIGKILL to `serve`'s supervisor (several workers): its workers stop too, within seconds,
    instead of answering on the port they inherited, orphans a restarted service could not listen
    beside."""
    server = LiveServer(workers=2).start()
    assert server.process is not None
    workers = [pid for pid in _children(server.process.pid) if _running(pid)]
    assert len(workers) >= 2, workers  # the workers, and multiprocessing's resource tracker if any
    server.stop(signal.SIGKILL, timeout=10)
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline and any(_running(pid) for pid in workers):
            time.sleep(0.1)
        assert not any(_running(pid) for pid in workers), [pid for pid in workers if _running(pid)]
        try:
            status: int | None = httpx.get(server.base_url + "/healthz", timeout=2).status_code
        except httpx.TransportError:
            status = None
        assert status is None
    finally:  # orphans of a failed run would answer on the port for good
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_one_worker_ignores_a_supervisor_pid_in_its_environment() -> None:
    """The variable `serve` sets for its workers, copied from a worker's environment into one of a
    single-worker server: the server starts and answers (it would stop itself at start-up)."""
    server = LiveServer(env={"TERRITORIALITE_SUPERVISOR_PID": "1"})
    try:
        server.start()
        time.sleep(1)
        assert server.process is not None
        assert server.process.poll() is None, server.logs()
        assert httpx.get(server.base_url + "/healthz", timeout=5).status_code == 200
    finally:
        server.stop(signal.SIGTERM, timeout=30)
