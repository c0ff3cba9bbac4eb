"""What can be checked of the container set-up without a Docker engine (none runs on these machines)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app.contract.problems import PROBLEM_TYPES, TYPE_PREFIX
from tests.live_server import ROOT

CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")


def test_compose_file_validates_against_the_compose_specification() -> None:
    run = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="Debian's docker-compose (second opinion) not installed")
def test_compose_file_passes_docker_compose_config() -> None:
    run = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"], capture_output=True
    )
    assert run.returncode == 0, run.stderr


def test_compose_runs_replicas_behind_a_load_balancer_with_healthchecks() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    api, lb = compose["services"]["api"], compose["services"]["lb"]
    assert api["deploy"]["replicas"] >= 2
    assert "healthcheck" in api
    assert "healthcheck" in lb
    assert lb["depends_on"]["api"]["condition"] == "service_healthy"
    config = (ROOT / "deploy/nginx.conf").read_text(encoding="utf-8")
    assert "proxy_pass $backend" in config
    assert "resolver 127.0.0.11" in config
    assert "$request_body" not in config  # no body, hence no location, in the balancer's log


def test_dockerfile_is_slim_non_root_with_geodata_and_healthcheck() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    froms = [line for line in lines if line.startswith("FROM ")]
    assert froms
    assert all("-slim" in line for line in froms)
    user = [line for line in lines if line.startswith("USER ")]
    assert user
    assert user[-1] not in ("USER root", "USER 0")
    assert any(line.startswith("COPY") and "geodata" in line for line in lines)
    assert any(line.startswith("HEALTHCHECK") for line in lines)
    assert any("--require-hashes" in line for line in lines)
    copied = {line.split()[-2] for line in lines if line.startswith("COPY") and "--from" not in line}
    for source in copied - {"/tmp/requirements.lock"}:
        assert (ROOT / source).exists(), source


def test_dockerignore_keeps_the_image_small() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", ".git", "tests"} <= set(ignored)


def _seconds(duration: str) -> int:
    assert duration.endswith("s"), duration
    return int(duration[:-1])


def test_probes_have_explicit_timeouts_that_outlast_the_check_inside() -> None:
    documents = list(yaml.safe_load_all((ROOT / "deploy/kubernetes.yaml").read_text(encoding="utf-8")))
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    readiness, liveness = container["readinessProbe"], container["livenessProbe"]
    for probe in (readiness, liveness):
        assert {"timeoutSeconds", "periodSeconds", "failureThreshold"} <= probe.keys(), probe
    # a pod leaves the Service before it is killed
    assert (
        liveness["timeoutSeconds"] * liveness["failureThreshold"]
        > readiness["timeoutSeconds"] * readiness["failureThreshold"]
    )

    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    instruction = re.search(r"^HEALTHCHECK (.*?) CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert instruction
    options = dict(re.findall(r"--([a-z-]+)=(\S+)", instruction.group(1)))
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]["api"]
    healthcheck = compose["healthcheck"]
    assert healthcheck["test"] == ["CMD", *json.loads(instruction.group(2))]  # one check, stated twice
    for option, key in (("interval", "interval"), ("timeout", "timeout"), ("retries", "retries")):
        assert str(options[option]) == str(healthcheck[key]), option
    inner = re.search(r"timeout=(\d+)\)", healthcheck["test"][-1])
    assert inner
    assert int(inner.group(1)) < _seconds(healthcheck["timeout"])  # the check fails cleanly before Docker kills it


def test_nginx_refuses_bodies_at_the_services_limit_with_its_problem() -> None:
    config = (ROOT / "deploy/nginx.conf").read_text(encoding="utf-8")
    limit = re.search(r"client_max_body_size (\d+)m;", config)
    assert limit
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]["api"]
    assert int(limit.group(1)) << 20 == int(compose["environment"]["TERRITORIALITE_MAX_BODY_BYTES"])
    problem = json.loads(re.search(r"return 413 '(.*)';", config).group(1))  # type: ignore[union-attr]
    assert problem["type"] == TYPE_PREFIX + "payload-too-large"
    assert (problem["status"], problem["title"]) == PROBLEM_TYPES["payload-too-large"]  # as the service answers
    assert problem["detail"] == f"the body must not exceed {int(limit.group(1)) << 20} bytes"


def test_every_probe_uses_the_images_probe_port_and_only_the_main_port_is_served() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    port = re.search(r"TERRITORIALITE_PORT=(\d+)", dockerfile)
    probe_port = re.search(r"TERRITORIALITE_PROBE_PORT=(\d+)", dockerfile)
    assert port
    assert probe_port
    assert f"http://127.0.0.1:{probe_port.group(1)}/readyz" in dockerfile  # the HEALTHCHECK
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    assert f"http://127.0.0.1:{probe_port.group(1)}/readyz" in compose["api"]["healthcheck"]["test"][-1]
    assert compose["api"]["expose"] == [port.group(1)]  # nginx reaches the main port only
    assert "ports" not in compose["api"]  # nothing of a replica published; nginx is the way in
    assert re.findall(r"^EXPOSE (.*)$", dockerfile, re.MULTILINE) == [port.group(1)]
    nginx = (ROOT / "deploy/nginx.conf").read_text(encoding="utf-8")
    assert f"api:{port.group(1)}" in nginx
    assert f":{probe_port.group(1)}" not in nginx

    documents = list(yaml.safe_load_all((ROOT / "deploy/kubernetes.yaml").read_text(encoding="utf-8")))
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    ports = {entry["name"]: entry["containerPort"] for entry in container["ports"]}
    assert ports == {"http": int(port.group(1)), "probes": int(probe_port.group(1))}
    assert container["readinessProbe"]["httpGet"]["port"] == container["livenessProbe"]["httpGet"]["port"] == "probes"
    service = next(d for d in documents if d["kind"] == "Service")
    assert [entry["targetPort"] for entry in service["spec"]["ports"]] == ["http"]
    policy = next(d for d in documents if d["kind"] == "NetworkPolicy")  # other pods: the API port only
    assert policy["spec"]["podSelector"]["matchLabels"] == deployment["spec"]["template"]["metadata"]["labels"]
    assert [port["port"] for rule in policy["spec"]["ingress"] for port in rule["ports"]] == ["http"]


def test_a_read_only_root_comes_with_a_writable_tmp_where_workers_share_their_metrics() -> None:
    """`serve` with several workers makes its metrics folder in the temporary folder: compose mounts a
    tmpfs there, the Kubernetes example an emptyDir, so that raising TERRITORIALITE_WORKERS works."""
    documents = list(yaml.safe_load_all((ROOT / "deploy/kubernetes.yaml").read_text(encoding="utf-8")))
    pod = next(d for d in documents if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert "emptyDir" in volume
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]["api"]
    assert compose["read_only"] is True
    assert "/tmp" in compose["tmpfs"]
