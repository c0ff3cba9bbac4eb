"""The image, built by podman from the unchanged Dockerfile; a private dockerd to run it; the names
of the images the Dockerfile and the compose file use."""

from __future__ import annotations

import json
import re
import resource
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from tools.container_test import toolchain
from tools.container_test.steps import CheckError, check, environment, run, say

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROJECT_SERVICE = "api"


def full_name(image: str) -> str:
    """`nginx:1.27-alpine` -> `docker.io/library/nginx:1.27-alpine`, as registries resolve it."""
    first = image.split("/")[0]
    if "/" not in image:
        return "docker.io/library/" + image
    if "." not in first and ":" not in first and first != "localhost":
        return "docker.io/" + image
    return image


def dockerfile_bases() -> set[str]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, re.MULTILINE | re.IGNORECASE))
    return {full_name(image) for image in re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE) if image not in stages}


def compose_images() -> tuple[str, set[str]]:
    """The project's image (the built service) and the others the compose file runs."""
    services = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]
    others = {full_name(s["image"]) for name, s in services.items() if name != PROJECT_SERVICE}
    return services[PROJECT_SERVICE]["image"], others


def stand_ins_for(names: set[str]) -> list[toolchain.StandIn]:
    available = {stand_in.name: stand_in for stand_in in toolchain.stand_ins()}
    unknown = names - available.keys()
    check(not unknown, f"no stand-in for {sorted(unknown)}: add one to toolchain.STAND_INS")
    return [available[name] for name in sorted(names)]


# ----------------------------------------------------------------------------------- podman (build)


def podman_environment(work: Path) -> dict[str, str]:
    """podman settings in files of the work dir, none in /etc: overlay storage, cgroupfs and runc (crun
    refuses a hybrid cgroup host), the host's network, ulimits within the hard limits."""
    folder = work / "podman"
    folder.mkdir(parents=True, exist_ok=True)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    (folder / "storage.conf").write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{folder / "root"}"\nrunroot = "{folder / "run"}"\n',
        encoding="utf-8",
    )
    (folder / "containers.conf").write_text(
        "[containers]\n"
        'netns = "host"\n'
        f'default_ulimits = ["nofile={hard}:{hard}", "nproc=32768:32768"]\n'
        "[engine]\n"
        'cgroup_manager = "cgroupfs"\n'
        'runtime = "runc"\n'
        'events_logger = "file"\n'
        f'events_logfile_path = "{folder / "events.log"}"\n'
        f'tmp_dir = "{folder / "tmp"}"\n'
        f'static_dir = "{folder / "libpod"}"\n',
        encoding="utf-8",
    )
    return environment(
        CONTAINERS_STORAGE_CONF=str(folder / "storage.conf"), CONTAINERS_CONF=str(folder / "containers.conf")
    )


def build_image(work: Path) -> Path:
    """Builds the image from the Dockerfile as it is, and saves it for the engine. Returns the archive."""
    env = podman_environment(work)
    for stand_in in stand_ins_for(dockerfile_bases()):
        changes = [argument for change in stand_in.changes for argument in ("--change", change)]
        run(["podman", "import", *changes, str(stand_in.archive), stand_in.name], timeout=300, env=env)
    project_image, _ = compose_images()
    started = time.monotonic()
    build = run(
        [
            "podman",
            "build",
            "--format",
            "docker",
            "--pull=never",
            "--network=host",
            "-t",
            full_name(project_image),
            "-f",
            str(ROOT / "Dockerfile"),
            str(ROOT),
        ],
        timeout=900,
        env=env,
    )
    (work / "build.log").write_text(build.stdout + build.stderr, encoding="utf-8")
    say(f"image built by podman from the unchanged Dockerfile in {time.monotonic() - started:.1f} s")
    archive = work / "image.tar"
    run(
        ["podman", "save", "--format", "docker-archive", "-o", str(archive), full_name(project_image)],
        timeout=300,
        env=env,
    )
    return archive


# ---------------------------------------------------------------------------------- dockerd (run)


@dataclass
class Engine:
    """A dockerd of our own, in the current (private) network namespace."""

    work: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        return environment(
            PATH=toolchain.engine_path(),
            DOCKER_HOST=f"unix://{self.work / 'docker/docker.sock'}",
            COMPOSE_HTTP_TIMEOUT="120",
        )

    def start(self, timeout: float = 60) -> None:
        folder = self.work / "docker"
        folder.mkdir(parents=True, exist_ok=True)
        run(["ip", "link", "set", "lo", "up"], timeout=10)
        log = (folder / "dockerd.log").open("wb")
        self.process = subprocess.Popen(
            [
                "dockerd",
                "--data-root",
                str(folder / "data"),
                "--exec-root",
                str(folder / "exec"),
                "-H",
                self.env["DOCKER_HOST"],
                "--pidfile",
                str(folder / "dockerd.pid"),
                "--storage-driver",
                "overlay2",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            check(self.process.poll() is None, f"dockerd exited with {self.process.returncode}: {self.log_tail()}")
            if self.docker("version", check=False, timeout=10).returncode == 0:
                return
            time.sleep(0.2)
        raise CheckError(f"dockerd not answering after {timeout:.0f} s: {self.log_tail()}")

    def stop(self, timeout: float = 30) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, lines: int = 10) -> str:
        log = self.work / "docker/dockerd.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""

    def docker(self, *arguments: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(["docker", *arguments], timeout=timeout, env=self.env, check=check)

    def compose(self, *arguments: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return run(
            ["docker-compose", "-p", "ct", "-f", str(COMPOSE_FILE), *arguments], timeout=timeout, env=self.env, cwd=ROOT
        )

    def inspect(self, container: str) -> dict:
        return json.loads(self.docker("inspect", container).stdout)[0]

    def address(self, container: str) -> str:
        networks = self.inspect(container)["NetworkSettings"]["Networks"]
        return next(iter(networks.values()))["IPAddress"]

    def logs(self, container: str) -> str:
        done = self.docker("logs", container, timeout=30)
        return done.stdout + done.stderr

    def load_images(self, archive: Path) -> None:
        project_image, others = compose_images()
        self.docker("load", "-i", str(archive), timeout=300)
        self.docker("tag", full_name(project_image), project_image)
        for stand_in in stand_ins_for(others):
            changes = [argument for change in stand_in.changes for argument in ("--change", change)]
            self.docker("import", *changes, str(stand_in.archive), stand_in.name, timeout=300)
