"""Work is admitted within bounds and run off the event loop (app/web/work.py); a client that stops
sending or leaves is dealt with as a client's doing: a 408, or a 499 in the log, never a 500."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.contract.fhir.models import INSEE_CODE_EXTENSIONS
from bench.attack import invalid_audit
from tests.live_server import LiveServer
from tests.web.raw_http import closed_within, connect, post_head, read_answer

INSEE_CODE_EXTENSION = min(INSEE_CODE_EXTENSIONS)
SMALL = b'{"physicians": [{"id": "a", "location": {"commune": "13055"}}]}'


@pytest.fixture(scope="module")
def small() -> Iterator[LiveServer]:
    """Bodies of 64 KiB at most, and room for 96 KiB of them at once."""
    server = LiveServer(
        env={
            "TERRITORIALITE_MAX_BODY_BYTES": str(64 * 1024),
            "TERRITORIALITE_MAX_QUEUED_BYTES": str(96 * 1024),
            "TERRITORIALITE_BODY_TIMEOUT_SECONDS": "1",
            "TERRITORIALITE_BODY_MIN_RATE": "1000",
        }
    ).start()
    yield server
    server.stop()
    assert [line for line in server.logs().splitlines() if '"level": "error"' in line] == []


def access_lines(server: LiveServer) -> list[dict]:
    return [json.loads(line) for line in server.logs().splitlines() if '"territorialite.access"' in line]


def test_excess_work_is_refused_at_once_with_retry_after(small: LiveServer) -> None:
    with connect(small.port) as holder:
        holder.sendall(post_head("/v1/rankings", 60_000) + b"{")  # admitted: 60,000 of 98,304 bytes held
        time.sleep(0.2)
        refused = httpx.post(small.base_url + "/v1/rankings", content=b" " * 40_000 + SMALL,
                             headers={"content-type": "application/json"})  # fmt: skip
        accepted = httpx.post(
            small.base_url + "/v1/rankings", content=SMALL, headers={"content-type": "application/json"}
        )
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:territorialite:problem:service-busy"
    assert accepted.status_code == 200  # small enough to fit beside the one being received


def test_a_body_too_slow_gets_a_408(small: LiveServer) -> None:
    with connect(small.port) as connection:
        connection.sendall(post_head("/v1/rankings", 50_000) + b"{")
        answer = read_answer(connection)
        assert closed_within(connection, 10) is not None
    assert answer.status == 408
    assert answer.json()["type"] == "urn:territorialite:problem:request-timeout"


def test_a_body_sent_fast_then_stalled_gets_a_408_without_banked_time(small: LiveServer) -> None:
    """60,000 bytes at once, then nothing: at 1,000 bytes a second on average that would be a minute
    of credit; each second must bring its own 1,000 bytes, so the 408 comes in the second period."""
    with connect(small.port) as connection:
        connection.settimeout(20)
        connection.sendall(post_head("/v1/rankings", 61_000) + b" " * 60_000)
        answer = read_answer(connection)
    assert answer.status == 408


def test_an_aborted_upload_is_a_499_at_info_level(small: LiveServer) -> None:
    for _ in range(20):
        with connect(small.port) as connection:
            connection.sendall(post_head("/v1/rankings", 50_000) + b"[" * 10_000)
            time.sleep(0.02)
    time.sleep(0.5)
    aborted = [line for line in access_lines(small) if line["status"] == 499]
    assert len(aborted) >= 20
    assert {line["level"] for line in aborted} == {"info"}
    metrics = httpx.get(small.base_url + "/metrics").text
    assert 'territorialite_requests_total{method="POST",route="/v1/rankings",status="499"}' in metrics
    assert 'status="500"' not in metrics


def test_probes_are_answered_while_a_heavy_request_is_computed(server: LiveServer) -> None:
    """A 2 MB audit (1,000 sessions of 600 empty proposals: over a second of computing) runs off the
    event loop."""
    finished: list[float] = []

    def heavy() -> None:
        response = httpx.post(server.base_url + "/v1/audits", content=invalid_audit(),
                              headers={"content-type": "application/json"}, timeout=120)  # fmt: skip
        assert response.status_code == 200
        finished.append(time.monotonic())

    thread = threading.Thread(target=heavy)
    thread.start()
    time.sleep(0.3)  # sent, and being judged
    probes = [httpx.get(server.base_url + path) for path in ("/healthz", "/readyz", "/healthz")]
    answered = time.monotonic()
    thread.join()
    assert [p.status_code for p in probes] == [200, 200, 200]
    assert len(finished) == 1
    assert answered < finished[0]


def test_queued_work_for_a_client_that_left_is_skipped(server: LiveServer) -> None:
    """While the compute thread judges a 2 MB audit, a second big request waits; its client leaves:
    its turn comes, nobody is there, the work is skipped and logged as a 499."""
    heavy = threading.Thread(
        target=httpx.post,
        args=(server.base_url + "/v1/audits",),
        kwargs={"content": invalid_audit(), "headers": {"content-type": "application/json"}, "timeout": 120},
    )
    heavy.start()
    time.sleep(0.3)
    body = json.dumps({"physicians": [{"id": f"p{i}", "location": {"commune": "13055"}} for i in range(500)]})
    with connect(server.port) as leaving:
        leaving.sendall(post_head("/v1/rankings", len(body), "X-Request-ID: left-while-queued\r\n") + body.encode())
        time.sleep(0.2)
    heavy.join()
    time.sleep(0.5)
    [line] = [line for line in access_lines(server) if line["request_id"] == "left-while-queued"]
    assert line["status"] == 499


def test_an_answer_over_the_cap_is_never_sent() -> None:
    """No valid request comes near the default cap (16 MiB; the largest measured answer is 2.7 MB; a
    FHIR ranking, which repeats what a Bundle says of a shared resource, is measured first: a 413):
    here lowered to 1 MiB, a 10,000-physician ranking (1.1 MB) is refused as a defect, not sent."""
    capped = LiveServer(env={"TERRITORIALITE_MAX_ANSWER_BYTES": str(1 << 20)}).start()
    try:
        physicians = [{"id": f"p{i}", "location": {"commune": "13055"}} for i in range(10_000)]
        response = httpx.post(capped.base_url + "/v1/rankings", json={"physicians": physicians}, timeout=60)
        small_enough = httpx.post(capped.base_url + "/v1/rankings", content=SMALL,
                                  headers={"content-type": "application/json"})  # fmt: skip
    finally:
        capped.stop()
    assert response.status_code == 500
    assert response.json()["type"] == "urn:territorialite:problem:internal-error"
    assert len(response.content) < 1000
    assert small_enough.status_code == 200
    assert "AnswerTooLargeError" in capped.logs()


def fhir_ranking_of(roles: int) -> bytes:
    """FHIR whose ranking answer is about 1 KB a role (10,000 roles: 1.5 MB of body, 10.7 MB of
    answer): roles of one Practitioner and one Organization, whose name and identifiers (256
    characters, as much as an answer quotes) each ranked role names again."""
    organisation = {
        "resourceType": "Organization", "id": "o", "name": "N" * 256,
        "address": [{"extension": [{"url": INSEE_CODE_EXTENSION, "valueCoding": {"code": "13055"}}]}],
    }  # fmt: skip
    identifiers = [{"system": "https://rpps.esante.gouv.fr", "value": "8" * 256}]
    identifiers += [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "9" * 256}]
    practitioner = {"resourceType": "Practitioner", "id": "p", "identifier": identifiers}
    role = {"resourceType": "PractitionerRole", "organization": {"reference": "Organization/o"},
            "practitioner": {"reference": "Practitioner/p"}}  # fmt: skip
    entries: list[dict[str, Any]] = [{"resource": organisation}, {"resource": practitioner}]
    entries += [{"resource": {**role, "id": f"r{i}"}} for i in range(roles)]
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    return json.dumps({"bundle": bundle}, separators=(",", ":")).encode()


def left_unread(port: int, body: bytes) -> socket.socket:
    """A client that posts a FHIR ranking and reads nothing of its answer (the kernel takes little)."""
    connection = socket.create_connection(("127.0.0.1", port))
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    connection.sendall(post_head("/v1/rankings/fhir", len(body)) + body)
    time.sleep(3)  # computed and written, up to what the kernel takes
    return connection


def small_ranking(server: LiveServer) -> int:
    return httpx.post(
        server.base_url + "/v1/rankings", content=SMALL, headers={"content-type": "application/json"}
    ).status_code


def test_answers_left_unread_count_in_the_bytes_a_worker_holds() -> None:
    """Twenty clients leaving 15 MB answers unread took a worker to 372 MiB: what the kernel has not
    taken of an answer now counts, as one body at most, until it is read or its client leaves. Room
    for 4 MiB (twice the body limit): one unread answer leaves room for a request, two do not.
    Answers of 8 MB: two fit in the 16 MiB of answers a worker holds at once."""
    server = LiveServer().start()
    try:
        body = fhir_ranking_of(7_500)
        first = left_unread(server.port, body)
        beside_one = small_ranking(server)
        second = left_unread(server.port, body)
        beside_two = small_ranking(server)
        first.close()
        time.sleep(0.5)
        once_one_is_gone = small_ranking(server)
        second.close()
    finally:
        server.stop()
    assert (beside_one, beside_two, once_one_is_gone) == (200, 503, 200)


def held(server: LiveServer, metric: str = "territorialite_held_bytes") -> dict[str, float]:
    """A worker's bytes counted against its limits (or, with `metric`, the limits), by limit."""
    lines = httpx.get(server.base_url + "/metrics").text.splitlines()
    prefix = metric + '{limit="'
    return {line[len(prefix) :].split('"')[0]: float(line.split()[-1]) for line in lines if line.startswith(prefix)}


def test_what_a_worker_counts_against_its_limits_is_in_its_metrics() -> None:
    """An operator sees how close a worker is to refusing work: a body being sent counts its declared
    size, an answer left unread what the kernel has not taken of it (against the queue, up to the
    body limit), until the client leaves."""
    server = LiveServer().start()
    try:
        at_rest, limits = held(server), held(server, "territorialite_limit_bytes")
        uploading = connect(server.port)
        uploading.sendall(post_head("/v1/rankings", 1_000_000) + b'{"physicians": [')
        time.sleep(0.5)
        while_uploading = held(server)
        uploading.close()
        unread = left_unread(server.port, fhir_ranking_of(7_500))
        while_unread = held(server)
        unread.close()
        time.sleep(0.5)
        once_gone = held(server)
    finally:
        server.stop()
    assert at_rest == once_gone == {"max_queued_bytes": 0, "max_answer_bytes": 0}
    assert limits == {"max_queued_bytes": 4 * 1024 * 1024, "max_answer_bytes": 16 * 1024 * 1024}
    assert while_uploading == {"max_queued_bytes": 1_000_000, "max_answer_bytes": 0}
    assert while_unread["max_queued_bytes"] == 2 * 1024 * 1024  # one body at most
    assert 2 * 1024 * 1024 < while_unread["max_answer_bytes"] < 9_000_000, while_unread  # not taken by the kernel


def ready_again(server: LiveServer) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(server.base_url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("no worker ready 30 s after the others were killed")


def test_with_several_workers_the_metrics_show_the_largest_holding(tmp_path: Path) -> None:
    """Each worker reports what it holds every second; any worker's scrape gives the largest; a
    worker that stops takes its report with it, and one killed outright loses it at the next scrape."""
    server = LiveServer(env={"TERRITORIALITE_WORKERS": "2", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}).start()
    try:
        unread = left_unread(server.port, fhir_ranking_of(7_500))
        scrapes = [held(server)["max_answer_bytes"] for _ in range(6)]  # served by either worker
        workers = [int(path.stem.rsplit("_", 1)[1]) for path in tmp_path.glob("gauge_livemax_*.db")]
        for worker in workers:  # killed outright: their supervisor starts others
            os.kill(worker, signal.SIGKILL)
        unread.close()
        ready_again(server)
        once_killed = [held(server)["max_answer_bytes"] for _ in range(6)]
    finally:
        server.stop()
    assert all(2 * 1024 * 1024 < scraped < 9_000_000 for scraped in scrapes), scrapes
    assert len(workers) == 2  # the workers' reports, not their supervisor's
    assert once_killed == [0] * 6, once_killed
    assert list(tmp_path.glob("gauge_*.db")) == []


def test_the_metrics_folder_made_for_a_run_goes_with_it(tmp_path: Path) -> None:
    """Several workers share their metrics through files, in a folder made for the run (when none
    is given): removed when the service stops, not left in the temporary folder run after run."""
    server = LiveServer(env={"TERRITORIALITE_WORKERS": "2", "TMPDIR": str(tmp_path)})
    server.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server.start()
    try:
        while_running = list(tmp_path.glob("territorialite-metrics-*"))
    finally:
        server.stop()
    assert len(while_running) == 1
    assert list(tmp_path.glob("territorialite-metrics-*")) == []


def test_a_worker_holds_one_big_answer_at_a_time() -> None:
    """Forty 135 KB bodies admitted together made answers of 16 MB each, 551 MiB at once (a review):
    answers computed or left unread hold TERRITORIALITE_MAX_ANSWER_BYTES (16 MiB) at most, and one
    that would pass it is refused with a 503 once computed; a small one still goes."""
    server = LiveServer().start()
    try:
        body = fhir_ranking_of(10_000)  # a 10.7 MB answer
        unread = left_unread(server.port, body)
        big = httpx.post(server.base_url + "/v1/rankings/fhir", content=body,
                         headers={"content-type": "application/json"}, timeout=60)  # fmt: skip
        small = small_ranking(server)
        unread.close()
        time.sleep(0.5)
        big_again = httpx.post(server.base_url + "/v1/rankings/fhir", content=body,
                               headers={"content-type": "application/json"}, timeout=60)  # fmt: skip
    finally:
        server.stop()
    assert big.status_code == 503, big.text[:300]
    assert "as many answers as it sends at once" in big.json()["detail"]
    assert big.headers["retry-after"] == "1"
    assert (small, big_again.status_code) == (200, 200)
