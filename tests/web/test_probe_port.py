"""The probe port (TERRITORIALITE_PROBE_PORT): a listener of its own for the orchestrator's probes,
answering /healthz and /readyz only, its connections never refused for capacity. (How long probes
wait under a flood of connections to the main port is measured in bench/attack.py.)"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from app.web.protocol import PROBE_CONNECTIONS_MAX
from tests.live_server import ROOT, LiveServer, free_port
from tests.web.raw_http import (
    assert_refused_without_a_word,
    busy_connections,
    closed_within,
    connect,
    read_answer,
)


class ProbedServer(LiveServer):
    def __init__(self, env: dict[str, str] | None = None, workers: int = 1) -> None:
        self.probe_port = free_port()
        super().__init__({"TERRITORIALITE_PROBE_PORT": str(self.probe_port), **(env or {})}, workers)
        self.probe_url = f"http://127.0.0.1:{self.probe_port}"


@pytest.fixture(scope="module")
def probed() -> Iterator[ProbedServer]:
    server = ProbedServer({"TERRITORIALITE_MAX_CONNECTIONS": "4", "TERRITORIALITE_BODY_TIMEOUT_SECONDS": "30"})
    server.start()
    yield server
    server.stop()
    assert [line for line in server.logs().splitlines() if '"level": "error"' in line] == []


@pytest.mark.parametrize(("path", "status"), [("/healthz", "ok"), ("/readyz", "ready")])
def test_the_probe_port_answers_the_probes(probed: ProbedServer, path: str, status: str) -> None:
    answer = httpx.get(probed.probe_url + path)
    assert answer.status_code == 200
    assert answer.json()["status"] == status


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/policies"), ("GET", "/docs"), ("GET", "/metrics"),
                                              ("POST", "/v1/rankings"), ("GET", "/")])  # fmt: skip
def test_the_probe_port_answers_nothing_else(probed: ProbedServer, method: str, path: str) -> None:
    answer = httpx.request(method, probed.probe_url + path, json={"physicians": []})
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == "this port answers only /healthz and /readyz"
    assert httpx.request(method, probed.base_url + path, json={"physicians": []}).status_code != 404


def test_probes_are_answered_while_every_main_connection_is_busy(probed: ProbedServer) -> None:
    """4 connections at most, all busy with a request whose body is still coming: a new connection to
    the main port is refused, the probes are answered."""
    with busy_connections(probed.port, 4):
        assert_refused_without_a_word(probed.port)
        for _ in range(3):
            with httpx.Client() as fresh:  # a fresh connection each time, as an orchestrator probes
                assert fresh.get(probed.probe_url + "/healthz").status_code == 200
                assert fresh.get(probed.probe_url + "/readyz").status_code == 200


def test_connections_to_the_probe_port_leave_the_main_port_its_room(probed: ProbedServer) -> None:
    """The main port's cap (4 here) does not count them: 10 idle connections to the probe port, and
    the main port still answers; they do not count against each other's eviction either."""
    idle = [connect(probed.probe_port) for _ in range(10)]
    try:
        time.sleep(0.5)
        for _ in range(3):
            with httpx.Client() as fresh:
                assert fresh.get(probed.base_url + "/v1/policies").status_code == 200
        assert all(closed_within(connection, 0.1) is None for connection in idle)  # none evicted for them
    finally:
        for connection in idle:
            connection.close()


def test_the_probe_port_has_a_cap_of_its_own_where_the_newest_stays(probed: ProbedServer) -> None:
    idle = [connect(probed.probe_port) for _ in range(PROBE_CONNECTIONS_MAX + 8)]
    try:
        time.sleep(0.5)
        closed = [closed_within(connection, 0.1) is not None for connection in idle]
        assert closed == [True] * 8 + [False] * PROBE_CONNECTIONS_MAX  # the oldest made room
        with httpx.Client() as fresh:
            assert fresh.get(probed.probe_url + "/healthz").status_code == 200
    finally:
        for connection in idle:
            connection.close()


def test_at_the_main_cap_a_probe_connection_is_never_the_one_evicted(probed: ProbedServer) -> None:
    """The oldest connection waiting for a head is the probe's, yet the newcomer on the main port
    takes the place of the oldest main-port one."""
    with connect(probed.probe_port) as probe:
        time.sleep(0.3)
        idle = [connect(probed.port) for _ in range(4)]
        try:
            time.sleep(0.5)
            with httpx.Client() as fresh:
                assert fresh.get(probed.base_url + "/healthz").status_code == 200
            assert closed_within(probe, 0.2) is None
            assert sum(closed_within(connection, 0.2) is not None for connection in idle) >= 1
            probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            assert read_answer(probe).status == 200
        finally:
            for connection in idle:
                connection.close()


def test_with_several_workers_the_workers_answer_on_the_probe_port() -> None:
    """The supervisor answers nothing: the probe port's socket must reach the spawned workers."""
    server = ProbedServer(workers=2)
    server.start()
    try:
        for _ in range(10):
            with httpx.Client() as fresh:
                assert fresh.get(server.probe_url + "/readyz").status_code == 200
    finally:
        server.stop()


@pytest.mark.parametrize(("variable", "purpose"), [("PROBE_PORT", "probes"), ("PORT", "requests")])
def test_a_port_in_use_stops_the_start_naming_it(variable: str, purpose: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"TERRITORIALITE_PORT": str(free_port()), "TERRITORIALITE_PROBE_PORT": str(free_port()), "PATH": ""}
        run = subprocess.run(
            [sys.executable, "-m", "app.cli", "serve"],
            cwd=ROOT,
            env={**env, f"TERRITORIALITE_{variable}": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 3
    assert f"cannot listen on 127.0.0.1:{port} for {purpose}" in run.stderr
