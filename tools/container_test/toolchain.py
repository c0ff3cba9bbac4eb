"""The tools the container test needs, their installation from Debian packages, and the cache of what
is slow to make (the unpacked dockerd, the stand-in base images). Standard library only: `--install`
runs before the project's virtual environment exists."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tools.container_test.steps import CheckError, run

# Debian packages installed on the machine (what CI installs). util-linux (unshare) is essential.
PACKAGES = ("podman", "runc", "debootstrap", "docker-compose", "iptables", "iproute2")
COMMANDS = ("podman", "runc", "debootstrap", "docker-compose", "iptables", "ip", "unshare")
# Unpacked, never installed: installing docker.io would start a daemon on the host's network.
ENGINE_PACKAGES = ("docker.io", "containerd", "tini")
ENGINE_COMMANDS = ("dockerd", "docker", "containerd", "containerd-shim-runc-v2", "docker-proxy")

# The stand-ins: the Debian release the real images are built on, with what the project's use of
# them needs. Bump RECIPE when a stand-in changes, so that cached ones are rebuilt.
RECIPE = "2"
SUITE = "bookworm"
STAND_INS = {
    "docker.io/library/python:3.11-slim-bookworm": ("python3", "python3-venv", "python-is-python3", "ca-certificates"),
    # the official image links its logs to the container's output; Debian's nginx-light is 1.22
    "docker.io/library/nginx:1.27-alpine": ("nginx-light", "wget"),
}
STAND_IN_CHANGES = {
    "docker.io/library/python:3.11-slim-bookworm": ('CMD ["python3"]',),
    "docker.io/library/nginx:1.27-alpine": ('CMD ["nginx", "-g", "daemon off;"]', "EXPOSE 80"),
}
TRIMMED = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale")


def cache_dir() -> Path:
    configured = os.environ.get("TERRITORIALITE_CONTAINER_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "territorialite" / "container-test"


def engine_dir() -> Path:
    return cache_dir() / "engine"


def engine_path() -> str:
    """PATH with the unpacked engine first."""
    root = engine_dir()
    return os.pathsep.join([str(root / "usr/sbin"), str(root / "usr/bin"), os.environ.get("PATH", "")])


def missing_tools() -> list[str]:
    missing = [command for command in COMMANDS if shutil.which(command) is None]
    unpacked = engine_dir()
    engine = [
        command
        for command in ENGINE_COMMANDS
        if not any((unpacked / folder / command).exists() for folder in ("usr/bin", "usr/sbin"))
    ]
    if engine:
        missing.append(f"{', '.join(engine)} (unpacked from Debian's {', '.join(ENGINE_PACKAGES)} into {unpacked})")
    if os.geteuid() != 0:
        missing.append("root (podman and dockerd run rootful)")
    return missing


def install() -> None:
    """Installs the Debian packages that are missing and unpacks the engine into the cache."""
    if os.geteuid() != 0:
        raise CheckError("installing the container tools needs root")
    if any(shutil.which(command) is None for command in COMMANDS):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-qq"], timeout=300)
        run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES], timeout=900, env=env)
    if not all((engine_dir() / "usr/sbin" / command).exists() for command in ("dockerd", "docker-proxy")):
        unpack_engine()


def unpack_engine() -> None:
    target = engine_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        # apt drops privileges to _apt when downloading: give it a folder it may write to
        os.chmod(scratch, 0o755)
        run(["apt-get", "download", *ENGINE_PACKAGES], timeout=300, cwd=scratch)
        unpacked = Path(scratch) / "root"
        versions = []
        for deb in sorted(Path(scratch).glob("*.deb")):
            run(["dpkg-deb", "-x", str(deb), str(unpacked)], timeout=120)
            versions.append(deb.name.split("_")[0] + " " + deb.name.split("_")[1].replace("%3a", ":"))
        (unpacked / "VERSIONS").write_text(", ".join(versions) + "\n", encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        unpacked.rename(target)


def debian_mirror() -> str:
    """The Debian mirror apt already uses (deb822 .sources or one-line .list files)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    text = "\n".join(s.read_text(encoding="utf-8", errors="replace") for s in sources if s.is_file())
    mirrors = re.findall(r"(https?://\S+/debian)/?(?=\s)", text + "\n")
    return mirrors[0] if mirrors else "http://deb.debian.org/debian"


@dataclass(frozen=True)
class StandIn:
    name: str
    archive: Path
    changes: tuple[str, ...]


def stand_ins() -> list[StandIn]:
    """The stand-in base images as root file system archives, made once (debootstrap, ~1 min each)."""
    folder = cache_dir() / "stand-ins"
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    with _locked(folder / ".lock"):
        for name, packages in STAND_INS.items():
            archive = folder / (re.sub(r"[^A-Za-z0-9.]+", "_", name.split("/")[-1]) + f".r{RECIPE}.tar")
            if not archive.exists():
                _debootstrap(packages, archive)
            made.append(StandIn(name, archive, STAND_IN_CHANGES[name]))
    return made


def _debootstrap(packages: tuple[str, ...], archive: Path) -> None:
    with tempfile.TemporaryDirectory(dir=archive.parent) as scratch:
        rootfs = Path(scratch) / "rootfs"
        run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=" + ",".join(packages),
                SUITE,
                str(rootfs),
                debian_mirror(),
            ],
            timeout=900,
        )
        for folder in TRIMMED:
            shutil.rmtree(rootfs / folder, ignore_errors=True)
        if "nginx-light" in packages:
            for log, stream in (("access.log", "/dev/stdout"), ("error.log", "/dev/stderr")):
                (rootfs / "var/log/nginx" / log).unlink(missing_ok=True)
                (rootfs / "var/log/nginx" / log).symlink_to(stream)
        if "ca-certificates" in packages:
            _trust_host_authorities(rootfs)
        partial = archive.with_suffix(".partial")
        run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], timeout=300)
        partial.rename(archive)


def _trust_host_authorities(rootfs: Path) -> None:
    """pip inside the build must trust what the host trusts (a TLS-inspecting proxy, for one).
    Test scaffolding only: the Dockerfile stays as users need it."""
    extra = sorted(Path("/usr/local/share/ca-certificates").glob("**/*.crt"))
    if not extra:
        return
    for certificate in extra:
        shutil.copy(certificate, rootfs / "usr/local/share/ca-certificates" / certificate.name)
    run(["chroot", str(rootfs), "update-ca-certificates"], timeout=120)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Two runs at once (two worktrees) wait for each other instead of making the same stand-in."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def engine_versions() -> str:
    """The Debian versions of the unpacked engine, for the record."""
    versions = engine_dir() / "VERSIONS"
    return versions.read_text(encoding="utf-8").strip() if versions.exists() else "?"
