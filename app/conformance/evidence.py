"""Evidence an auditor can sign: one builder for every report of the conformance kit and of the audit.

Which tool, when (UTC), run how (the command line, secrets masked), on which exact inputs (their
SHA-256, each with the command that checks it), against which deployment as it describes itself
(version, geodata vintage, rulings version, policies): over HTTP with the run's own credentials for
the kit, in-process for the audit. Reports render the same `Evidence` as JSON, HTML rows, JUnit
properties.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app import __version__

TOOL = "territorialite"
SECRET_OPTIONS = ("--api-key",)
MASK = "***"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def command_line(argv: Sequence[str]) -> str:
    """The command as typed, secrets masked: `territorialite conformance --api-key *** ...`."""
    shown, masking = [TOOL], False
    for word in argv:
        if masking:
            shown.append(MASK)
            masking = False
        elif word in SECRET_OPTIONS:
            shown.append(word)
            masking = True
        elif word.startswith(tuple(f"{option}=" for option in SECRET_OPTIONS)):
            shown.append(word.split("=", 1)[0] + "=" + MASK)
        else:
            shown.append(word)
    return shlex.join(shown)


@dataclass(frozen=True)
class InputDigest:
    """One input of the run, as read: its SHA-256 and how anyone can recompute it."""

    what: str
    path: str
    sha256: str
    size_bytes: int
    check_with: str  # a shell command that prints the same digest
    files: Mapping[str, str] = field(default_factory=dict)  # a folder's files: name -> SHA-256

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "what": self.what,
            "path": self.path,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "check_with": self.check_with,
        }
        if self.files:
            body["files"] = dict(self.files)
        return body


def folder_digest(what: str, directory: Path, contents: Mapping[str, bytes], pattern: str) -> InputDigest:
    """Files read from a folder: each one's SHA-256, and the SHA-256 of their `sha256sum` listing."""
    digests = {name: hashlib.sha256(raw).hexdigest() for name, raw in contents.items()}
    return _listing_digest(what, directory, digests, sum(len(raw) for raw in contents.values()), pattern)


def folder_files_digest(what: str, directory: Path, pattern: str) -> InputDigest:
    """The same for files not otherwise read (the geodata, loaded by their own reader): one file at a time."""
    digests, size = {}, 0
    for path in sorted(directory.glob(pattern)):
        if path.is_file():
            with path.open("rb") as content:
                digests[path.name] = hashlib.file_digest(content, "sha256").hexdigest()
            size += path.stat().st_size
    return _listing_digest(what, directory, digests, size, pattern)


def _listing_digest(what: str, directory: Path, digests: Mapping[str, str], size: int, pattern: str) -> InputDigest:
    files = dict(sorted(digests.items()))
    listing = "".join(f"{digest}  {name}\n" for name, digest in files.items())
    return InputDigest(
        what=what,
        path=str(directory.resolve()),
        sha256=hashlib.sha256(listing.encode("utf-8")).hexdigest(),
        size_bytes=size,
        check_with=f"cd {shlex.quote(str(directory.resolve()))} && LC_ALL=C sha256sum {pattern} | sha256sum",
        files=files,
    )


def file_digest(what: str, path: Path, sha256: str, size_bytes: int) -> InputDigest:
    """A file read once, its digest computed while reading it."""
    resolved = shlex.quote(str(path.resolve()))
    return InputDigest(what, str(path.resolve()), sha256, size_bytes, f"sha256sum {resolved}")


@dataclass(frozen=True)
class Deployment:
    """What the judging service said of itself; `described` is False, with the reason, when it did not."""

    where: str
    described: bool
    version: str | None = None
    geodata_vintage: Mapping[str, str] = field(default_factory=dict)
    rulings_version: str | None = None
    policies: tuple[str, ...] = ()
    not_described_because: str | None = None

    @classmethod
    def from_answers(cls, where: str, readyz: Any, rulings: Any, policies: Any) -> Deployment:
        """From the JSON answers of GET /readyz, GET /v1/rulings and GET /v1/policies (or their in-process twins)."""
        try:
            return cls(
                where=where,
                described=True,
                version=str(readyz["version"]),
                geodata_vintage={str(k): str(v) for k, v in readyz["geodata"].items()},
                rulings_version=str(rulings["version"]),
                policies=tuple(f"{p['name']} v{p['version']}" for p in policies["policies"]),
            )
        except (KeyError, TypeError, AttributeError) as error:
            return cls.not_described(where, f"its self-description lacks {error}")

    @classmethod
    def not_described(cls, where: str, reason: str) -> Deployment:
        return cls(where=where, described=False, not_described_because=reason)

    def as_json(self) -> dict[str, object]:
        if not self.described:
            return {"where": self.where, "described": False, "not_described_because": self.not_described_because}
        return {
            "where": self.where,
            "described": True,
            "version": self.version,
            "geodata_vintage": dict(self.geodata_vintage),
            "rulings_version": self.rulings_version,
            "policies": list(self.policies),
        }


# The packages the judging rests on: their versions let a run be reproduced exactly.
JUDGING_PACKAGES = ("pydantic", "pydantic-core", "numpy", "shapely", "PyYAML", "httpx")


def runtime() -> dict[str, Any]:
    """The Python and the versions of the packages the tool judged with."""
    packages = {}
    for name in JUDGING_PACKAGES:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            packages[name] = "not installed"
    return {"python": platform.python_version(), "packages": packages}


@dataclass(frozen=True)
class Evidence:
    started_at: datetime
    finished_at: datetime
    command_line: str
    inputs: tuple[InputDigest, ...]
    deployment: Deployment
    tool_version: str = __version__

    def as_json(self) -> dict[str, object]:
        return {
            "tool": {"name": TOOL, "version": self.tool_version, **runtime()},
            "run": {
                "started_at": utc_text(self.started_at),
                "finished_at": utc_text(self.finished_at),
                "command_line": self.command_line,
            },
            "inputs": [i.as_json() for i in self.inputs],
            "deployment": self.deployment.as_json(),
        }

    def headline(self) -> str:
        d = self.deployment
        described = (
            f" (version {d.version}, rulings {d.rulings_version})"
            if d.described
            else " (which did not describe itself)"
        )
        return (
            f"{TOOL} {self.tool_version}, run from {utc_text(self.started_at)} to {utc_text(self.finished_at)} (UTC), "
            f"against {d.where}{described}."
        )

    def rows(self) -> list[tuple[str, str]]:
        """(what, value) pairs, in reading order: HTML tables and JUnit properties."""
        environment = runtime()
        rows = [
            ("tool", f"{TOOL} {self.tool_version}"),
            ("tool: Python", str(environment["python"])),
            ("tool: packages", ", ".join(f"{name} {v}" for name, v in environment["packages"].items())),
            ("run started (UTC)", utc_text(self.started_at)),
            ("run finished (UTC)", utc_text(self.finished_at)),
            ("command line", self.command_line),
        ]
        for item in self.inputs:
            rows += [
                (f"{item.what}: path", item.path),
                (f"{item.what}: SHA-256", item.sha256),
                (f"{item.what}: size (bytes)", f"{item.size_bytes:,}"),
                (f"{item.what}: check with", item.check_with),
            ]
            rows += [(f"{item.what}: {name} SHA-256", digest) for name, digest in item.files.items()]
        d = self.deployment
        rows.append(("deployment", d.where))
        if not d.described:
            return [*rows, ("deployment: self-description", f"none: {d.not_described_because}")]
        return [
            *rows,
            ("deployment: version", d.version or ""),
            ("deployment: geodata vintage", "; ".join(f"{k}: {v}" for k, v in d.geodata_vintage.items())),
            ("deployment: rulings version", d.rulings_version or ""),
            ("deployment: policies", ", ".join(d.policies)),
        ]
