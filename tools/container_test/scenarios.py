"""What the test checks, on the private dockerd: the image run alone as production runs it, then the
compose stack."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter

from tools.container_test import clients
from tools.container_test.engine import ROOT, Engine, compose_images
from tools.container_test.steps import CheckError, check, megabytes, percentiles, say

SINGLE = "territorialite-single"
PROBE_PORT = 8001  # the Dockerfile's TERRITORIALITE_PROBE_PORT
HARDENING = [
    "--read-only",
    "--tmpfs",
    "/tmp",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--memory",
    "320m",
    "--cpus",
    "1",
]  # the compose file's limits
# What the process inside sees of its own privileges, and whether it can write where it runs.
SELF_INSPECTION = """
import importlib.util, json, os, pathlib, struct
def compiled(source):  # its bytecode cached beside it, for this very source (timestamp and size)
    cached, stat = pathlib.Path(importlib.util.cache_from_source(source)), source.stat()
    expected = struct.pack("<II", int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF)
    return cached.is_file() and cached.read_bytes()[8:16] == expected
uncompiled = [str(p) for p in pathlib.Path("/srv/app").rglob("*.py") if not compiled(p)]
status = dict(line.split(":", 1) for line in open("/proc/1/status"))
try:
    open("/srv/written", "w")
    writable = True
except OSError:
    writable = False
print(json.dumps({"uid": os.getuid(), "pid1_uid": status["Uid"].split()[0], "cap_eff": status["CapEff"].strip(),
                  "no_new_privs": status["NoNewPrivs"].strip(), "root_writable": writable,
                  "modules": len(list(pathlib.Path("/srv/app").rglob("*.py"))), "uncompiled": uncompiled}))
"""


def image_size(engine: Engine) -> None:
    image, _ = compose_images()
    total = int(engine.docker("image", "inspect", "-f", "{{.Size}}", image).stdout)
    layers = engine.docker("history", "--human=false", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", image)
    rows = [line.split("\t", 1) for line in layers.stdout.strip().splitlines()]
    base = int(rows[-1][0])  # the stand-in base is one imported layer
    own = sorted(((int(size), made) for size, made in rows[:-1] if int(size) >= 50_000), reverse=True)
    detail = ", ".join(f"{megabytes(size)} {_layer_name(made)}" for size, made in own)
    say(
        f"image size {megabytes(total)}: project layers {megabytes(total - base)} ({detail}) "
        f"on the stand-in base {megabytes(base)}"
    )


def _layer_name(created_by: str) -> str:
    copied = re.search(r"COPY (?:--\S+ )*(?:dir|file):\w+ in (\S+)", created_by)
    if copied:
        return copied.group(1)
    return created_by.replace("/bin/sh -c ", "")[:40]


# ----------------------------------------------------------------------------------- one container


def single_container(engine: Engine, probe_seconds: float) -> None:
    image, _ = compose_images()
    started = time.monotonic()
    engine.docker("run", "-d", "--name", SINGLE, *HARDENING, image)
    base = f"http://{engine.address(SINGLE)}:8000"
    ready = clients.wait_until_answers(base + "/readyz", timeout=60)
    say(
        f"one container ({' '.join(HARDENING)}): /readyz answers {time.monotonic() - started:.2f} s "
        f"after `docker run` ({ready:.2f} s after the container got its address)"
    )
    _check_hardening(engine)
    answer = clients.request(base + "/v1/rankings", json.dumps(clients.README_RANKING).encode())
    check(answer.status == 200, f"ranking answered {answer.status}: {answer.body[:300]!r}")
    check(clients.ranking_order(answer) == clients.README_ORDER, f"ranking order {clients.ranking_order(answer)}")
    say(
        f"POST /v1/rankings (the README's example): 200, {' > '.join(clients.README_ORDER)}, "
        f"{answer.seconds * 1000:.0f} ms"
    )
    _check_probe_port(f"http://{engine.address(SINGLE)}:{PROBE_PORT}")
    if probe_seconds > 0:
        probe_latency(engine, base, probe_seconds)
    _sigterm_with_request_in_flight(engine, base)


def _check_probe_port(probes: str) -> None:
    """The image sets TERRITORIALITE_PROBE_PORT, and its HEALTHCHECK, the compose file's and the
    Kubernetes probes use it: it answers the probes and nothing else."""
    ready = clients.request(probes + "/readyz")
    check(ready.status == 200, f"/readyz on the probe port answered {ready.status}")
    other = clients.request(probes + "/v1/policies")
    check(other.status == 404, f"/v1/policies on the probe port answered {other.status}")
    say(f"probe port {PROBE_PORT}: /readyz 200 in {ready.seconds * 1000:.0f} ms, /v1/policies 404")


def _check_hardening(engine: Engine) -> None:
    seen = json.loads(engine.docker("exec", SINGLE, "python", "-c", SELF_INSPECTION).stdout)
    config = engine.inspect(SINGLE)["Config"]
    check(config["User"] not in ("", "root", "0"), f"the image runs as {config['User']!r}")
    check(seen["uid"] != 0 and seen["pid1_uid"] != "0", f"the service runs as root: {seen}")
    check(int(seen["cap_eff"], 16) == 0, f"capabilities left: {seen['cap_eff']}")
    check(seen["no_new_privs"] == "1", "no-new-privileges not in force")
    check(not seen["root_writable"], "the root file system is writable")
    check(not seen["uncompiled"], f"modules without their bytecode, compiled at each start: {seen['uncompiled'][:5]}")
    say(
        f"it runs as uid {seen['uid']} (image USER {config['User']}), no capabilities (CapEff {seen['cap_eff']}), "
        f"NoNewPrivs {seen['no_new_privs']}, /srv not writable, its {seen['modules']} modules compiled in the image"
    )


def probe_latency(engine: Engine, base: str, seconds: float) -> None:
    """Figures for the probe timeouts (printed, not asserted): /healthz and /readyz over HTTP as the
    kubelet calls them, and the image's HEALTHCHECK command as Docker runs it, idle and while one
    client loops a heavy legal request."""
    healthcheck = engine.inspect(SINGLE)["Config"]["Healthcheck"]["Test"][1:]
    say("probe latency, idle:")
    for path in ("/healthz", "/readyz"):
        say(f"  {path}: {percentiles(clients.probe_series(base + path, seconds=3, interval=0.1))}")
    say(f"  HEALTHCHECK command: {percentiles(_exec_series(engine, healthcheck, 5))}")
    loads = {
        "10,000-physician rankings by commune code": ("/v1/rankings", clients.heavy_ranking()),
        "1,000-session audits of 1.97 MB (22 physicians by coordinates each)": ("/v1/audits", clients.heavy_audit()),
    }
    for name, (path, body) in loads.items():
        _probes_under_load(engine, base, seconds, healthcheck, name, clients.Loop(base + path, body))


def _probes_under_load(
    engine: Engine, base: str, seconds: float, healthcheck: list[str], name: str, heavy: clients.Loop
) -> None:
    worker = threading.Thread(target=heavy.run)
    worker.start()
    results: dict[str, list[float]] = {}

    def probe(path: str) -> None:
        results[path] = clients.probe_series(base + path, seconds=seconds, interval=0.2)

    probers = [threading.Thread(target=probe, args=(path,)) for path in ("/healthz", "/readyz")]
    for thread in probers:
        thread.start()
    exec_latencies = _exec_series(engine, healthcheck, seconds)
    for thread in probers:
        thread.join(seconds + 30)
    heavy.stop.set()
    worker.join(60)
    memory = engine.docker("stats", "--no-stream", "--format", "{{.MemUsage}}", SINGLE).stdout.strip()
    statuses = dict(Counter(heavy.statuses))
    say(f"probe latency, one client looping {name}:")
    say(f"  the heavy requests: {percentiles(heavy.durations)}, statuses {statuses}; memory after: {memory}")
    for path in ("/healthz", "/readyz"):
        say(f"  {path}: {percentiles(results[path])}")
    say(f"  HEALTHCHECK command: {percentiles(exec_latencies)}")


def _exec_series(engine: Engine, command: list[str], seconds: float) -> list[float]:
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        done = engine.docker("exec", SINGLE, *command, timeout=30, check=False)
        latencies.append(time.monotonic() - started if done.returncode == 0 else 30.0)
        time.sleep(0.5)
    return latencies


def _sigterm_with_request_in_flight(engine: Engine, base: str) -> None:
    """SIGTERM while the heaviest audit (1,000 sessions) is in flight, its body's last kibibyte sent
    after the signal: the answer comes in full, then the process exits 0 within its graceful
    shutdown time."""
    grace = _graceful_shutdown_seconds(engine)
    signalled: list[float] = []

    def terminate() -> None:
        time.sleep(0.1)  # the head and most of the body are sent: let the server read the head
        signalled.append(time.monotonic())
        engine.docker("kill", "--signal", "TERM", SINGLE)

    answer = clients.post_while(base + "/v1/audits", clients.heavy_audit(), terminate)
    answered = time.monotonic()
    engine.docker("wait", SINGLE, timeout=grace + 15)
    stopped = time.monotonic() - signalled[0]
    state = engine.inspect(SINGLE)["State"]
    logs = engine.logs(SINGLE)
    engine.docker("rm", SINGLE)
    check(
        answer.status == 200 and len(answer.json()["sessions"]) == 1000,
        f"the audit in flight at SIGTERM got {answer.status}: {answer.body[:300]!r}",
    )
    check(state["ExitCode"] == 0 and not state["OOMKilled"], f"SIGTERM: exit code {state['ExitCode']}, {state}")
    check(stopped <= grace, f"SIGTERM: stopped after {stopped:.1f} s, over the {grace} s of graceful shutdown")
    check("Finished server process" in logs, "SIGTERM: no 'Finished server process' in the logs")
    say(
        f"SIGTERM with a 1,000-session audit in flight (its body's end sent after the signal): answered in full "
        f"{answered - signalled[0]:.1f} s after it, "
        f"exit code 0 after {stopped:.1f} s (graceful shutdown allows {grace} s)"
    )


def _graceful_shutdown_seconds(engine: Engine) -> int:
    environment = dict(item.split("=", 1) for item in engine.inspect(SINGLE)["Config"]["Env"])
    return int(environment.get("TERRITORIALITE_GRACEFUL_SHUTDOWN_SECONDS", "20"))  # app/settings.py default


# -------------------------------------------------------------------------------- compose stack

LB = "http://127.0.0.1:8000"  # the compose file's published port, in this test's network namespace


def compose_stack(engine: Engine) -> None:
    started = time.monotonic()
    engine.compose("up", "-d", "--no-build")
    clients.wait_until_answers(LB + "/readyz", timeout=60)
    _all_healthy(engine, expected=3)
    say(
        f"docker-compose up: {len(_replicas(engine))} replicas and nginx healthy, nginx answering "
        f"{time.monotonic() - started:.1f} s after `up`"
    )
    _every_replica_answers(engine, expected=3)
    _metrics_kept_private(engine)
    started = time.monotonic()
    engine.compose("up", "-d", "--no-build", "--scale", "api=5")
    _all_healthy(engine, expected=5)
    say(f"docker-compose up --scale api=5: 5 replicas healthy {time.monotonic() - started:.1f} s after it")
    _every_replica_answers(engine, expected=5)
    _slow_header_attack(engine)
    _oversize_body()
    memory = engine.docker("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}").stdout.split("\n")
    say("memory: " + "; ".join(line for line in memory if line))
    _down_cleanly(engine)


def _metrics_kept_private(engine: Engine) -> None:
    """/metrics is refused on the published port, and each replica serves its own to the network."""
    answer = clients.request(LB + "/metrics")
    check(
        answer.status == 404 and answer.headers.get("content-type") == "application/problem+json",
        f"/metrics through nginx: {answer.status} {answer.body[:200]!r}",
    )
    replica = next(iter(_replicas(engine).values()))
    scrape = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/metrics').read().decode())"
    scraped = engine.docker("exec", replica, "python", "-c", scrape).stdout
    check("territorialite_held_bytes{" in scraped, f"{replica}'s own /metrics: {scraped[:200]!r}")
    say(f"/metrics: 404 through nginx, served by {replica} on its own port")


def _all_healthy(engine: Engine, expected: int, timeout: float = 90) -> None:
    """Docker's own verdict: the HEALTHCHECK of every replica and of nginx passes."""
    deadline = time.monotonic() + timeout
    while True:
        health = {}
        for container in engine.compose("ps", "-q").stdout.split():
            details = engine.inspect(container)
            health[details["Name"].lstrip("/")] = details["State"].get("Health", {}).get("Status", "none")
        if len(health) == expected + 1 and set(health.values()) == {"healthy"}:
            return
        check(time.monotonic() < deadline, f"not all healthy after {timeout:.0f} s: {health}")
        time.sleep(1)


def _replicas(engine: Engine) -> dict[str, str]:
    """Address -> name of each replica of the api service."""
    ids = engine.compose("ps", "-q", "api").stdout.split()
    named = {}
    for container in ids:
        details = engine.inspect(container)
        named[next(iter(details["NetworkSettings"]["Networks"].values()))["IPAddress"]] = details["Name"].lstrip("/")
    return named


def _every_replica_answers(engine: Engine, expected: int, budget: float = 60) -> None:
    """Rankings through nginx until each replica has answered one. Which replica answered is read
    from the replicas' own access logs (the X-Request-ID nginx gives each request) and checked
    against nginx's log ($upstream_addr): no change to the service needed."""
    replicas = _replicas(engine)
    check(len(replicas) == expected, f"{len(replicas)} replicas running, {expected} expected")
    body = json.dumps(clients.README_RANKING).encode()
    sent: list[str] = []
    served: dict[str, str] = {}
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        for _ in range(10):
            answer = clients.request(LB + "/v1/rankings", body)
            check(
                answer.status == 200 and clients.ranking_order(answer) == clients.README_ORDER,
                f"through nginx: {answer.status} {answer.body[:200]!r}",
            )
            sent.append(answer.headers["x-request-id"])
        served = _who_served(engine, replicas, set(sent))
        if len(set(served.values())) == expected:
            break
        time.sleep(0.5)
    by_replica = Counter(served.values())
    check(
        len(by_replica) == expected,
        f"{len(sent)} requests reached only {sorted(by_replica)} of {sorted(replicas.values())}",
    )
    upstreams = _nginx_upstreams(engine)
    disagreements = [rid for rid, name in served.items() if replicas.get(upstreams.get(rid, "")) != name]
    check(not disagreements, f"nginx's log and the replicas' logs disagree on {disagreements[:5]}")
    say(
        f"{len(sent)} rankings through nginx reached all {expected} replicas: "
        + ", ".join(f"{name} {by_replica[name]}" for name in sorted(by_replica))
    )


def _who_served(engine: Engine, replicas: dict[str, str], request_ids: set[str]) -> dict[str, str]:
    served = {}
    for name in replicas.values():
        for line in engine.logs(name).splitlines():
            if '"request_id"' in line:
                request_id = json.loads(line).get("request_id")
                if request_id in request_ids:
                    served[request_id] = name
    return served


def _nginx_upstreams(engine: Engine) -> dict[str, str]:
    """request id -> the replica address nginx sent it to (the last one tried), from nginx's log."""
    upstreams = {}
    for line in engine.logs(_lb(engine)).splitlines():
        request_id = re.search(r"\b[0-9a-f]{32}\b", line)
        tried = re.findall(r"\b(\d+\.\d+\.\d+\.\d+):\d+\b", line)
        if request_id and tried:
            upstreams[request_id.group(0)] = tried[-1]
    return upstreams


def _lb(engine: Engine) -> str:
    return engine.compose("ps", "-q", "lb").stdout.split()[0]


def _nginx_setting(name: str) -> float:
    match = re.search(rf"^\s*{name}\s+(\d+)s;", (ROOT / "deploy/nginx.conf").read_text(encoding="utf-8"), re.MULTILINE)
    check(match is not None, f"no {name} in deploy/nginx.conf")
    return float(match.group(1))  # type: ignore[union-attr]


def _slow_header_attack(engine: Engine, connections: int = 200) -> None:
    timeout = _nginx_setting("client_header_timeout")
    probes: list[float] = []
    prober = threading.Thread(
        target=lambda: probes.extend(
            clients.probe_series(LB + "/healthz", seconds=timeout + 2, interval=0.25, timeout=5)
        )
    )
    prober.start()
    outcome = clients.slow_headers("127.0.0.1", 8000, connections, limit=timeout + 10)
    prober.join(timeout + 20)
    check(
        outcome.still_open == 0,
        f"{outcome.still_open} of {connections} slow connections still open after "
        f"{timeout + 10:.0f} s (client_header_timeout {timeout:.0f} s)",
    )
    earliest, latest = min(outcome.cut_after), max(outcome.cut_after)
    check(
        timeout - 1 <= earliest and latest <= timeout + 3,
        f"slow connections cut after {earliest:.1f}-{latest:.1f} s, client_header_timeout is {timeout:.0f} s",
    )
    check(max(probes) < 5, f"probes through nginx during the attack: {percentiles(probes)}")
    say(
        f"{connections} connections sending headers at 1 byte/s: nginx cut all after {earliest:.1f}-{latest:.1f} s "
        f"(client_header_timeout {timeout:.0f} s; {outcome.answered} got bytes back); /healthz through nginx "
        f"meanwhile: {percentiles(probes)}"
    )


def _oversize_body(attempts: int = 20, size: int = 5 << 20) -> None:
    outcomes = [clients.oversize_with_urllib(LB + "/v1/rankings", size) for _ in range(attempts)]
    statuses = Counter(status for status, _, _ in outcomes)
    check(statuses == Counter({413: attempts}), f"5 MiB bodies with Connection: close got {dict(statuses)}")
    types = Counter(content_type for _, content_type, _ in outcomes)
    check(types == Counter({"application/problem+json": attempts}), f"413 answered as {dict(types)}")
    problem = json.loads(outcomes[0][2])
    check(
        problem.get("type") == "urn:territorialite:problem:payload-too-large" and problem.get("status") == 413,
        f"413 body {problem}",
    )
    say(
        f"{attempts} bodies of 5 MiB sent by urllib (Connection: close): {attempts}/{attempts} got the 413 "
        f"problem+json ({problem['type']})"
    )


def _down_cleanly(engine: Engine) -> None:
    containers = engine.compose("ps", "-q").stdout.split()
    started = time.monotonic()
    engine.compose("stop", "-t", "30", timeout=120)
    stopped = time.monotonic() - started
    exits = {engine.inspect(c)["Name"].lstrip("/"): engine.inspect(c)["State"]["ExitCode"] for c in containers}
    check(all(code == 0 for code in exits.values()), f"exit codes after SIGTERM: {exits}")
    engine.compose("down", timeout=120)
    left = engine.docker("ps", "-aq").stdout.split()
    networks = set(engine.docker("network", "ls", "--format", "{{.Name}}").stdout.split())
    check(not left and networks == {"bridge", "host", "none"}, f"left after down: {left}, networks {networks}")
    say(
        f"docker-compose stop: {len(exits)} containers exited 0 on SIGTERM in {stopped:.1f} s; down: no container "
        "nor network left"
    )


def diagnostics(engine: Engine) -> None:
    """What the engine shows after a failure."""
    for command in (("ps", "-a"),):
        done = engine.docker(*command, check=False)
        print(done.stdout + done.stderr)
    done = engine.docker("ps", "-aq", check=False)
    for container in done.stdout.split():
        try:
            print(f"--- logs of {container}:\n" + "\n".join(engine.logs(container).splitlines()[-15:]))
        except CheckError as error:
            print(error)
    print("--- dockerd:\n" + engine.log_tail())
