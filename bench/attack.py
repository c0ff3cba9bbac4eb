"""`make attack`: the attacks of issue 12 against real servers on loopback, each bounded in time and
count. Prints, per attack: the worker's resident memory (peak during it, and 10 s after), health
probe latency during it (a fresh connection every 100 ms, as an orchestrator probes: on the probe
port, as deployed, and on the main port, as any client), errors, log lines, and what the attack
itself saw. Asserts nothing: the figures go in the README.

    .venv/bin/python -m bench.attack [NAME ...] [--root CHECKOUT]

--root runs the server of another checkout (e.g. /work/main) with this venv: before and after.
ATTACK_KEEP_LOGS=1 keeps each server's log and prints where.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import multiprocessing.synchronize
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.servers import ROOT, free_port, status_mb

PROBE_EVERY = 0.1
PROBE_TIMEOUT = 5.0
SETTLE_SECONDS = 10.0
GOAL_MB = 150e6 / 2**20  # the goal's 150 MB, in the MiB (kB / 1,024) the columns read: 143.05


# the server and what watches it
class Target:
    """A server started as `territorialite serve` starts it, its log in a file."""

    def __init__(self, root: Path, workers: int = 1, env: dict[str, str] | None = None) -> None:
        self.root, self.port, self.probe_port = root, free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.probe_url = f"http://127.0.0.1:{self.probe_port}"  # the orchestrator's, as deployed
        self.log = Path(tempfile.mkstemp(prefix="attack-", suffix=".log")[1])
        env = dict(env or {})
        python_path = os.pathsep.join(filter(None, [str(root), env.pop("PYTHONPATH", "")]))
        self.env = {**os.environ, "TERRITORIALITE_PORT": str(self.port), "TERRITORIALITE_WORKERS": str(workers),
                    "TERRITORIALITE_PROBE_PORT": str(self.probe_port), "PYTHONPATH": python_path, **env}  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Target:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve"], cwd=self.root, env=self.env, stdout=out, stderr=out
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if http_get(self.url + "/readyz", 1)[0] == 200 and len(self.workers()) >= 1:
                    # a search waits for its index, built once the worker is ready: part of the start,
                    # not of the attack
                    http_get(self.url + "/v1/communes?q=lyon", 60)
                    return self
            time.sleep(0.1)
        raise RuntimeError("server not ready: " + self.log.read_text()[-2000:])

    def __exit__(self, *_: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if os.environ.get("ATTACK_KEEP_LOGS"):
            print(f"  server log kept: {self.log}")
        else:
            self.log.unlink(missing_ok=True)

    def processes(self) -> list[int]:
        """The server and its children (uvicorn's workers, multiprocessing's resource tracker)."""
        assert self.process is not None
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [self.process.pid, *(int(p) for p in path.read_text().split())] if path.exists() else []

    def workers(self) -> list[int]:
        """The processes that answer: uvicorn's spawned children when there are several workers."""
        processes = self.processes()
        spawned = [pid for pid in processes[1:] if b"spawn_main" in _read(f"/proc/{pid}/cmdline")]
        return spawned or processes[:1]

    def worker_rss_mb(self) -> float:
        """The largest resident memory among the workers (the goal is per worker)."""
        return max((_rss_mb(pid) for pid in self.workers()), default=0.0)

    def reset_worker_peaks(self) -> None:
        """The kernel's high-water mark of each worker set back to its resident memory now."""
        for pid in self.workers():
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")

    def worker_peak_mb(self) -> float:
        """The largest high-water mark (VmHWM) among the workers since `reset_worker_peaks`: peaks
        shorter than the sampling's 50 ms too (a review found 158 MiB sampled where it was 166)."""
        return max((status_mb(pid, "VmHWM:") for pid in self.workers()), default=0.0)

    def cpu_seconds(self) -> float:
        """CPU time of the server's processes, every thread, to the nanosecond (schedstat)."""
        total = 0
        for pid in self.processes():
            for task in Path(f"/proc/{pid}/task").glob("*"):
                with contextlib.suppress(OSError, ValueError):
                    total += int(_read(f"{task}/schedstat").split()[0])
        return total / 1e9

    def log_lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


def _rss_mb(pid: int) -> float:
    return status_mb(pid, "VmRSS:")


def http_get(url: str, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _probe(url: str, stop: multiprocessing.synchronize.Event, results: multiprocessing.Queue) -> None:
    """In a process of its own, so that the attacking threads never delay it."""
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    while not stop.is_set():
        started = time.perf_counter()
        try:
            status, _ = http_get(url + "/healthz", PROBE_TIMEOUT)
            if status == 200:
                latencies.append(time.perf_counter() - started)
            else:
                failures[f"status {status}"] += 1
        except OSError as error:
            failures[type(error).__name__] += 1
        stop.wait(max(0.0, PROBE_EVERY - (time.perf_counter() - started)))
    results.put((latencies, dict(failures)))


class Watch:
    """Probes /healthz on both ports (each from a process of its own) and samples the worker's memory
    while an attack runs."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.latencies: list[float] = []  # on the probe port: the orchestrator's probes
        self.failures: dict[str, int] = {}
        self.main_latencies: list[float] = []  # on the main port: any client's
        self.main_failures: dict[str, int] = {}
        self.peak_mb = 0.0
        self.stop = threading.Event()
        self.stop_probe = multiprocessing.Event()
        self.results: multiprocessing.Queue = multiprocessing.Queue()
        self.main_results: multiprocessing.Queue = multiprocessing.Queue()
        self.probers = [
            multiprocessing.Process(target=_probe, args=(target.probe_url, self.stop_probe, self.results)),
            multiprocessing.Process(target=_probe, args=(target.url, self.stop_probe, self.main_results)),
        ]
        self.sampler = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(OSError, ValueError):
                self.peak_mb = max(self.peak_mb, self.target.worker_rss_mb())
            self.stop.wait(0.05)

    def __enter__(self) -> Watch:
        for prober in self.probers:
            prober.start()
        self.sampler.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.stop_probe.set()
        self.latencies, self.failures = self.results.get(timeout=PROBE_TIMEOUT + 10)
        self.main_latencies, self.main_failures = self.main_results.get(timeout=PROBE_TIMEOUT + 10)
        for prober in self.probers:
            prober.join()
        self.sampler.join()


@dataclass
class Row:
    attack: str
    seconds: float
    peak_mb: float
    after_mb: float
    under_goal_after: str
    probes: str
    probe_failures: str
    main_probes: str
    main_probe_failures: str
    server_cpu: str
    refused_503: int
    errors: int
    log_lines: int
    seen: dict[str, object] = field(default_factory=dict)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def run(name: str, attack: Callable[[Target], dict[str, object]], root: Path, workers: int = 1,
        env: dict[str, str] | None = None) -> Row:  # fmt: skip
    with Target(root, workers, env) as target:
        time.sleep(1)
        lines_before, cpu_before = len(target.log_lines()), target.cpu_seconds()
        target.reset_worker_peaks()
        started = time.monotonic()
        with Watch(target) as watch:
            seen = attack(target)
        seconds = time.monotonic() - started
        peak = max(watch.peak_mb, target.worker_peak_mb())
        cpu = (target.cpu_seconds() - cpu_before) / seconds
        lines = target.log_lines()[lines_before:]
        after, settled = settle(target)
    return Row(
        attack=name,
        seconds=seconds,
        peak_mb=max(peak, after),
        after_mb=after,
        under_goal_after=settled,
        probes=spread(watch.latencies),
        probe_failures=", ".join(f"{n} {k}" for k, n in watch.failures.items()) or "0",
        main_probes=spread(watch.main_latencies),
        main_probe_failures=", ".join(f"{n} {k}" for k, n in watch.main_failures.items()) or "0",
        server_cpu=f"{cpu:.0%}",
        refused_503=sum(1 for line in lines if '"status": 503' in line),
        errors=sum(1 for line in lines if '"level": "error"' in line or '"status": 500' in line),
        log_lines=sum(1 for line in lines if '"route": "/healthz"' not in line),  # the probes' own
        seen=seen,
    )


def spread(latencies: list[float]) -> str:
    """p50/p99/max in milliseconds."""
    ms = [x * 1000 for x in latencies]
    return f"{percentile(ms, 0.5):.0f}/{percentile(ms, 0.99):.0f}/{max(ms, default=float('nan')):.0f}"


def settle(target: Target) -> tuple[float, str]:
    """The worker's memory 10 s after the attack, and when it first went under the goal."""
    started, under = time.monotonic(), ""
    while True:
        rss = target.worker_rss_mb()
        elapsed = time.monotonic() - started
        if not under and rss < GOAL_MB:
            under = f"{elapsed:.1f} s"
        if elapsed >= SETTLE_SECONDS:
            return rss, under or "no"
        time.sleep(0.25)


# clients
def post(url: str, path: str, body: bytes, timeout: float = 60.0, close: bool = False) -> tuple[int, int]:
    """(status, answer size) of a POST; status 0 when the connection failed."""
    headers = {"content-type": "application/json", **({"connection": "close"} if close else {})}
    request = urllib.request.Request(url + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, len(response.read())
    except urllib.error.HTTPError as error:
        return error.code, len(error.read())
    except OSError:
        return 0, 0


def looping(url: str, path: str, body: bytes, clients: int, seconds: float) -> dict[str, object]:
    """`clients` threads posting `body` back to back for `seconds`: their statuses and wait."""
    statuses: Counter[int] = Counter()
    retry_after: set[str] = set()
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            status, _ = post(url, path, body)
            statuses[status] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if statuses[503]:
        retry_after.add(busy_retry_after(url, path, body))
    return {"statuses": dict(statuses), **({"retry_after": sorted(retry_after)} if retry_after else {})}


def busy_retry_after(url: str, path: str, body: bytes) -> str:
    """Fill the worker with two heavy requests and read a third one's Retry-After."""
    holders = [threading.Thread(target=post, args=(url, path, body)) for _ in range(2)]
    for thread in holders:
        thread.start()
    time.sleep(0.3)
    request = urllib.request.Request(url + path, data=body, headers={"content-type": "application/json"})
    value = "none"
    try:
        urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as error:
        value = f"{error.code}: {error.headers.get('Retry-After')}"
    for thread in holders:
        thread.join()
    return value


def raw_connection(port: int, timeout: float = 10.0) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


def head(path: str, length: int) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: attack\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()  # fmt: skip


# bodies
def heaviest_audit() -> bytes:
    """The heaviest legal request measured: 1,000 sessions, each with 2 x 11 proposals given by
    coordinates, just under 2 MiB: the heaviest measured (0.7 s of one core on the batched engine)."""
    rng = random.Random(12)

    def point() -> dict[str, object]:
        return {"coordinates": {"lat": round(rng.uniform(42, 51), 5), "lon": round(rng.uniform(-4, 8), 5)}}

    def session(number: int) -> dict[str, object]:
        return {
            "session_id": f"s{number}", "timestamp": "2026-11-20T10:00:00+01:00", "channel": "video",
            "offers": {"with_appointment": True, "without_appointment": True},
            "information_message_shown": True, "location_input_offered": True,
            "patient": {"location": {"postal_code": "69003"}},
            "proposals": {offer: [{"id": f"{offer[:2]}{i}", "location": point()} for i in range(11)]
                          for offer in ("with_appointment", "without_appointment")},
        }  # fmt: skip

    body = json.dumps({"sessions": [session(n) for n in range(1000)]}, separators=(",", ":")).encode()
    assert len(body) <= 2 * 1024 * 1024, len(body)
    return body


def coordinates_ranking() -> bytes:
    rng = random.Random(13)
    physicians = [{"id": f"p{i}", "location": {"coordinates": {"lat": round(rng.uniform(42, 51), 5),
                   "lon": round(rng.uniform(-4, 8), 5)}}} for i in range(10_000)]  # fmt: skip
    return json.dumps({"patient": {"location": {"postal_code": "69003"}}, "physicians": physicians}).encode()


def coordinates_at_sea_ranking() -> bytes:
    """10,000 physicians at sea in the Baie de Seine, close enough to the coast to be placed in France,
    each weighing some 200 commune points: the candidates taken all at once took a worker to 557 MiB."""
    rng = random.Random(14)
    physicians = [{"id": f"p{i}", "location": {"coordinates": {"lat": round(49.57824 + rng.uniform(-0.005, 0.005), 5),
                   "lon": round(-0.19738 + rng.uniform(-0.005, 0.005), 5)}}} for i in range(10_000)]  # fmt: skip
    return json.dumps({"patient": {"location": {"postal_code": "14600"}}, "physicians": physicians}).encode()


def fhir_bundle(roles: int = 1_100) -> bytes:
    """A FHIR searchset of 1,100 roles with their Practitioners and Organizations (2.0 MB), answered
    as a Bundle: the heaviest FHIR request under the body limit."""
    from app.geography import load_geography
    from bench.fhir import bodies

    _, body = bodies(load_geography(ROOT / "geodata"), roles)
    document = json.loads(body)
    body = json.dumps({**document, "format": "bundle"}).encode()
    assert len(body) <= 2 * 1024 * 1024, len(body)
    return body


def fhir_wrong_items() -> bytes:
    """A million wrong identifiers in one Organization (2 MB): each an error or more to validate."""
    zeros = ",".join(["0"] * 1_000_000)
    return ('{"bundle":{"resourceType":"Bundle","type":"searchset","entry":[{"resource":'
            '{"resourceType":"Organization","identifier":[' + zeros + "]}}]}}").encode()  # fmt: skip


def empty_objects(count: int = 650_000) -> str:
    return ",".join(["{}"] * count)


def nested_ranking() -> bytes:
    """650,000 empty objects where the patient should be, and a limit written with an exponent (2 MB):
    each error on an ancestor of them was a copy of them when pydantic validated the text."""
    return ('{"patient":[' + empty_objects() + '],"physicians":[],"limit":1e3}').encode()


def nested_fhir() -> bytes:
    """650,000 empty objects inside the patient's coordinates (2 MB): the same, for FHIR."""
    return ('{"patient":{"location":{"coordinates":{"x":[' + empty_objects() + ']}}},'
            '"bundle":{"resourceType":"Bundle","type":"searchset"}}').encode()  # fmt: skip


def fhir_empty_addresses() -> bytes:
    """650,000 empty addresses in one Organization (2 MB): each a validated model, were they read."""
    return ('{"bundle":{"resourceType":"Bundle","type":"searchset","entry":[{"resource":'
            '{"resourceType":"Organization","id":"o","address":[' + empty_objects() + "]}}]}}").encode()  # fmt: skip


def fhir_shared_name() -> bytes:
    """An Organization named with 1,000,000 characters and 250 roles of it (1 MB): the name is in
    each ranked role's answer, 250 MB of answer were it built."""
    roles = ",".join(
        f'{{"resource":{{"resourceType":"PractitionerRole","id":"r{i}","organization":{{"reference":"Organization/o"}}}}}}'
        for i in range(250)
    )
    organisation = '{"resource":{"resourceType":"Organization","id":"o","name":"' + "N" * 1_000_000 + '"}}'
    return (
        '{"bundle":{"resourceType":"Bundle","type":"searchset","entry":[' + organisation + "," + roles + "]}}"
    ).encode()


def fhir_shared_city() -> bytes:
    """An Organization whose address has a shared postal code and a city of 1,000,000 characters, and
    1,000 roles of it, answered as a Bundle: each role's warning quoted the city whole (2 GiB)."""
    roles = ",".join(
        f'{{"resource":{{"resourceType":"PractitionerRole","id":"r{i}","organization":{{"reference":"Organization/o"}}}}}}'
        for i in range(1_000)
    )
    address = '{"postalCode":"58000","city":"' + "X" * 1_000_000 + '"}'
    organisation = '{"resource":{"resourceType":"Organization","id":"o","address":[' + address + "]}}"
    entries = organisation + "," + roles
    return ('{"format":"bundle","patient":{"location":{"commune":"58194"}},'
            '"bundle":{"resourceType":"Bundle","type":"searchset","entry":[' + entries + "]}}").encode()  # fmt: skip


def invalid_audit() -> bytes:
    """2 MB of sessions whose proposals are all {}: two errors each, 1.4 million in all."""
    session = {"session_id": "x", "timestamp": "2026-11-20T10:00:00Z", "channel": "video",
               "offers": {"with_appointment": True, "without_appointment": True},
               "information_message_shown": True, "location_input_offered": True,
               "proposals": {"with_appointment": [{}] * 300, "without_appointment": [{}] * 300}}  # fmt: skip
    return json.dumps({"sessions": [session] * 1000}, separators=(",", ":")).encode()


def invalid_ranking() -> bytes:
    """205,000 unknown keys (one error each), just under 2 MiB."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    keys = (a + b + c for a in digits for b in digits for c in digits)
    body = ("{" + ",".join(f'"{key}":0' for key, _ in zip(keys, range(205_000), strict=False)) + "}").encode()
    assert len(body) <= 2 * 1024 * 1024, len(body)
    return body


def crafted_ranking() -> bytes:
    """10,000 physicians, each location carrying 25 unknown keys (250,000 errors), under 2 MiB: each
    object too small to be trimmed, the errors spread over the whole roster."""
    unknown = ",".join(f'"{chr(97 + i)}":0' for i in range(25))
    physicians = ",".join(f'{{"id":"p{i}","location":{{"commune":"75056",{unknown}}}}}' for i in range(10_000))
    body = ('{"physicians":[' + physicians + "]}").encode()
    assert len(body) <= 2 * 1024 * 1024, len(body)
    return body


# the attacks
def idle(seconds: float) -> Callable[[Target], dict[str, object]]:
    """No attack: what the probes and the memory are on this machine, now."""

    def attack(target: Target) -> dict[str, object]:
        time.sleep(seconds)
        return {}

    return attack


def invalid_bodies(body: bytes, path: str) -> Callable[[Target], dict[str, object]]:
    """One client reads the answer; eight send the same body and never read theirs."""

    def attack(target: Target) -> dict[str, object]:
        started = time.monotonic()
        status, size = post(target.url, path, body, timeout=120)
        seen: dict[str, object] = {"status": status, "answer_bytes": size, "body_bytes": len(body),
                                   "answer_seconds": round(time.monotonic() - started, 2)}  # fmt: skip
        silent = []
        for _ in range(8):
            connection = raw_connection(target.port)
            connection.sendall(head(path, len(body)) + body)
            silent.append(connection)
        time.sleep(10)
        for connection in silent:
            connection.close()
        return seen

    return attack


def heavy_loop(body: bytes, path: str, clients: int, seconds: float = 30) -> Callable[[Target], dict[str, object]]:
    def attack(target: Target) -> dict[str, object]:
        return looping(target.url, path, body, clients, seconds)

    return attack


def _hold_slow_heads(port: int, count: int, seconds: float, queue: multiprocessing.Queue) -> None:
    """In a process of its own (descriptors): `count` connections sending a head a byte a second."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held, failed = [], 0
    deadline = time.monotonic() + seconds
    for _ in range(count):
        try:
            connection = socket.socket()
            connection.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                connection.connect(("127.0.0.1", port))
            held.append(connection)
        except OSError:
            failed += 1
    message = b"GET /healthz HTTP/1.1\r\nHost: slow\r\n" + b"X-Slow: " + b"a" * 100
    sent = dict.fromkeys(held, 0)
    while time.monotonic() < deadline:
        for connection in held:
            with contextlib.suppress(OSError):
                sent[connection] += connection.send(message[sent[connection] : sent[connection] + 1])
        time.sleep(1)
    alive = 0  # nothing to read and not closed: the server still holds it
    for connection in held:
        try:
            connection.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
        connection.close()
    queue.put((len(held), failed, alive))


def slow_headers(total: int, seconds: float = 20) -> Callable[[Target], dict[str, object]]:
    def attack(target: Target) -> dict[str, object]:
        queue: multiprocessing.Queue = multiprocessing.Queue()
        halves = [total // 2, total - total // 2]
        processes = [multiprocessing.Process(target=_hold_slow_heads, args=(target.port, n, seconds, queue))
                     for n in halves]  # fmt: skip
        for process in processes:
            process.start()
        results = [queue.get(timeout=seconds + 120) for _ in processes]
        for process in processes:
            process.join()
        started = time.perf_counter()
        status, _ = http_get(target.url + "/healthz", PROBE_TIMEOUT)
        return {
            "opened": sum(r[0] for r in results),
            "failed_to_open": sum(r[1] for r in results),
            "still_open_at_end": sum(r[2] for r in results),
            "probe_right_after_ms": round((time.perf_counter() - started) * 1000, 1),
            "status_after": status,
        }

    return attack


def slow_uploads(count: int, seconds: float = 30) -> Callable[[Target], dict[str, object]]:
    """`count` uploads of 2 MiB: all but the last KiB at once, then a byte a second (each would hold
    its 2 MiB as long as it pleased)."""

    def attack(target: Target) -> dict[str, object]:
        size = 2 * 1024 * 1024
        connections = []
        for _ in range(count):
            connection = raw_connection(target.port)
            connection.sendall(head("/v1/rankings", size) + b" " * (size - 1024))
            connection.setblocking(False)
            connections.append(connection)
        statuses: Counter[str] = Counter()
        answered: dict[socket.socket, float] = {}
        started = time.monotonic()
        while time.monotonic() - started < seconds and len(answered) < count:
            for connection in connections:
                if connection in answered:
                    continue
                with contextlib.suppress(OSError):
                    connection.send(b" ")
                try:
                    data = connection.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                answered[connection] = time.monotonic() - started
                statuses[data[9:12].decode() if data else "closed"] += 1
            time.sleep(1)
        for connection in connections:
            connection.close()
        times = sorted(answered.values())
        return {"answers": dict(statuses), "unanswered_at_end": count - len(answered),
                "answered_after_s": f"{times[0]:.0f}..{times[-1]:.0f}" if times else "-"}  # fmt: skip

    return attack


def huge_header(total: int = 128 * 1024 * 1024, piece: int = 64 * 1024) -> Callable[[Target], dict[str, object]]:
    def attack(target: Target) -> dict[str, object]:
        connection = raw_connection(target.port)
        cpu_before = target.cpu_seconds()
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: attack\r\nX-Huge: ")
        sent, answer = 0, b""
        started = time.monotonic()
        connection.settimeout(0.05)
        while sent < total and not answer and time.monotonic() - started < 60:
            try:
                connection.sendall(b"a" * piece)
                sent += piece
                answer = connection.recv(4096)
            except TimeoutError:
                continue
            except OSError as error:
                answer = f"<{type(error).__name__}>".encode()
        cpu = target.cpu_seconds() - cpu_before  # from the first byte to the answer (probes may add some)
        connection.close()
        time.sleep(0.5)
        return {"status": answer[9:12].decode(errors="replace") or "none", "header_bytes_sent_before_answer": sent,
                "server_cpu_ms": round(cpu * 1000, 2)}  # fmt: skip

    return attack


def aborted_uploads(count: int = 500) -> Callable[[Target], dict[str, object]]:
    def attack(target: Target) -> dict[str, object]:
        for _ in range(count):
            connection = raw_connection(target.port)
            connection.sendall(head("/v1/rankings", 1024 * 1024) + b"[" * 65536)
            time.sleep(0.005)
            connection.close()
        time.sleep(1)
        metrics = http_get(target.url + "/metrics", 5)[1].decode()
        counted = {
            line.split('status="')[1][:3]: float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith("territorialite_requests_total{") and 'route="/v1/rankings"' in line
        }
        return {"requests_by_status": counted}

    return attack


def urllib_oversized(count: int = 20) -> Callable[[Target], dict[str, object]]:
    def attack(target: Target) -> dict[str, object]:
        body = b"[" + b"1," * (5 * 1024 * 1024 // 2) + b"1]"
        statuses = Counter(post(target.url, "/v1/rankings", body, timeout=30, close=True)[0] for _ in range(count))
        return {"statuses": dict(statuses)}

    return attack


def attacks() -> dict[str, tuple[Callable[[], Callable[[Target], dict[str, object]]], int]]:
    """name -> (builder of the attack, workers)"""
    return {
        "baseline-idle": (lambda: idle(20), 1),
        "invalid-audit-2mb": (lambda: invalid_bodies(invalid_audit(), "/v1/audits"), 1),
        "invalid-ranking-2mb": (lambda: invalid_bodies(invalid_ranking(), "/v1/rankings"), 1),
        "crafted-ranking-2mb": (lambda: invalid_bodies(crafted_ranking(), "/v1/rankings"), 1),
        "fhir-wrong-items-2mb": (lambda: invalid_bodies(fhir_wrong_items(), "/v1/rankings/fhir"), 1),
        "nested-ranking-2mb": (lambda: invalid_bodies(nested_ranking(), "/v1/rankings"), 1),
        "nested-fhir-2mb": (lambda: invalid_bodies(nested_fhir(), "/v1/rankings/fhir"), 1),
        "fhir-empty-addresses-2mb": (lambda: invalid_bodies(fhir_empty_addresses(), "/v1/rankings/fhir"), 1),
        "fhir-shared-name-1mb": (lambda: invalid_bodies(fhir_shared_name(), "/v1/rankings/fhir"), 1),
        "fhir-shared-city-1mb": (lambda: invalid_bodies(fhir_shared_city(), "/v1/rankings/fhir"), 1),
        "heavy-audit-1-client": (lambda: heavy_loop(heaviest_audit(), "/v1/audits", 1), 1),
        "heavy-audit-3-clients": (lambda: heavy_loop(heaviest_audit(), "/v1/audits", 3), 1),
        "coordinates-10k-3-clients": (lambda: heavy_loop(coordinates_ranking(), "/v1/rankings", 3), 1),
        "coordinates-at-sea-10k-3-clients": (lambda: heavy_loop(coordinates_at_sea_ranking(), "/v1/rankings", 3), 1),
        "fhir-bundle-2mb-3-clients": (lambda: heavy_loop(fhir_bundle(), "/v1/rankings/fhir", 3), 1),
        "heavy-audit-2-workers-2-clients": (lambda: heavy_loop(heaviest_audit(), "/v1/audits", 2), 2),
        "slow-headers-21000": (lambda: slow_headers(21_000), 1),
        "slow-uploads-300": (lambda: slow_uploads(300), 1),
        "header-128mb": (lambda: huge_header(), 1),
        "aborted-uploads-500": (lambda: aborted_uploads(), 1),
        "urllib-5mib-close": (lambda: urllib_oversized(), 1),
    }


def print_rows(rows: list[Row]) -> None:
    header = ["attack", "s", "worker MiB peak", "MiB +10 s", "<150 MB after", "probes ms p50/p99/max",
              "probe failures", "main port ms", "main failures", "server CPU", "503s", "500s/errors",
              "log lines*"]  # fmt: skip
    table = [[r.attack, f"{r.seconds:.0f}", f"{r.peak_mb:.0f}", f"{r.after_mb:.0f}", r.under_goal_after, r.probes,
              r.probe_failures, r.main_probes, r.main_probe_failures, r.server_cpu, str(r.refused_503),
              str(r.errors), str(r.log_lines)]
             for r in rows]  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print()
    for result in rows:
        print(f"{result.attack}: {json.dumps(result.seen)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="attacks to run (default: all)")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose server is attacked")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server (repeatable)")
    args = parser.parse_args()
    chosen = attacks()
    unknown = set(args.names) - set(chosen)
    if unknown:
        parser.error(f"unknown attacks {sorted(unknown)}; known: {', '.join(chosen)}")
    print(f"attacks on {args.root.resolve()}, {time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.1f}")
    rows = []
    for name in args.names or list(chosen):
        build, workers = chosen[name]
        env = dict(item.split("=", 1) for item in args.env)
        rows.append(run(name, build(), args.root, workers, env))
        print(f"  done: {name}", flush=True)
    print()
    print_rows(rows)
    print(
        f"\nprobes: GET /healthz on a fresh connection every {PROBE_EVERY * 1000:.0f} ms, {PROBE_TIMEOUT:.0f} s "
        "timeout, on the probe port (TERRITORIALITE_PROBE_PORT, the orchestrator's, as deployed); main port: "
        "the same on the port clients use; memory: the largest worker's RSS in MiB (kB / 1,024), its peak the "
        "kernel's high-water mark reset as the attack starts (or the 50 ms sampling, if higher); "
        f"+10 s: {SETTLE_SECONDS:.0f} s after the attack ended; "
        "*log lines: all but the probes' own access lines"
    )


if __name__ == "__main__":
    main()
