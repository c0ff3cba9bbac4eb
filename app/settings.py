"""Settings, read once from the environment, cast, checked, with defaults. Injectable for tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.contract.limits import DEFAULT_MAX_BODY_BYTES
from app.geography.loader import DEFAULT_GEODATA_DIR

PREFIX = "TERRITORIALITE_"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    probe_port: int | None = None  # a listener of its own for /healthz and /readyz (see DESCRIPTIONS)
    workers: int = 1
    log_level: str = "info"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    cors_origins: tuple[str, ...] = ()
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    geodata_dir: Path = DEFAULT_GEODATA_DIR
    keep_alive_seconds: int = 5
    graceful_shutdown_seconds: int = 20
    # hostile traffic: how long a client may take, how much a worker holds (README, Configuration)
    header_timeout_seconds: int = 10
    body_timeout_seconds: int = 10
    body_min_rate: int = 8 * 1024  # bytes per second, on average over each period of body_timeout_seconds
    write_timeout_seconds: int = 30
    max_connections: int = 4096
    max_queued_bytes: int = 2 * DEFAULT_MAX_BODY_BYTES
    compute_threads: int = 1
    inline_body_bytes: int = 8 * 1024  # smaller bodies are computed on the event loop
    drain_bytes: int = 8 * 1024 * 1024
    max_answer_bytes: int = 16 * 1024 * 1024

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(PREFIX + name)
            return value.strip() if value is not None and value.strip() else None

        defaults = cls()

        def integer(name: str, low: int, high: int) -> int:
            return _integer(get(name.upper()), name.upper(), getattr(defaults, name), low, high)

        log_level = (get("LOG_LEVEL") or defaults.log_level).lower()
        if log_level not in LOG_LEVELS:
            raise SettingsError(f"{PREFIX}LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}")
        max_body_bytes = integer("max_body_bytes", 1024, 64 << 20)
        # twice the body limit unless set: one body computed, one waiting
        max_queued_bytes = _integer(get("MAX_QUEUED_BYTES"), "MAX_QUEUED_BYTES", 2 * max_body_bytes, 1024, 1 << 34)
        if max_queued_bytes < max_body_bytes:
            raise SettingsError(f"{PREFIX}MAX_QUEUED_BYTES must be at least MAX_BODY_BYTES ({max_body_bytes})")
        port = _integer(get("PORT"), "PORT", defaults.port, 0, 65535)
        probe_port = None if get("PROBE_PORT") is None else _integer(get("PROBE_PORT"), "PROBE_PORT", 0, 1, 65535)
        if probe_port is not None and probe_port == port:
            raise SettingsError(f"{PREFIX}PROBE_PORT must differ from {PREFIX}PORT ({port})")
        return cls(
            host=get("HOST") or defaults.host,
            port=port,
            probe_port=probe_port,
            workers=_integer(get("WORKERS"), "WORKERS", defaults.workers, 1, 64),
            log_level=log_level,
            max_body_bytes=max_body_bytes,
            cors_origins=_words(get("CORS_ORIGINS")),
            api_keys=_words(get("API_KEYS")),
            geodata_dir=Path(get("GEODATA_DIR") or defaults.geodata_dir),
            keep_alive_seconds=_integer(get("KEEP_ALIVE_SECONDS"), "KEEP_ALIVE_SECONDS", 5, 1, 300),
            graceful_shutdown_seconds=_integer(
                get("GRACEFUL_SHUTDOWN_SECONDS"), "GRACEFUL_SHUTDOWN_SECONDS", 20, 1, 600
            ),
            header_timeout_seconds=integer("header_timeout_seconds", 1, 300),
            body_timeout_seconds=integer("body_timeout_seconds", 1, 600),
            body_min_rate=integer("body_min_rate", 1, 1 << 30),
            write_timeout_seconds=integer("write_timeout_seconds", 1, 600),
            max_connections=integer("max_connections", 1, 1 << 20),
            max_queued_bytes=max_queued_bytes,
            compute_threads=integer("compute_threads", 1, 64),
            inline_body_bytes=integer("inline_body_bytes", 0, 64 << 20),
            drain_bytes=integer("drain_bytes", 0, 1 << 30),
            max_answer_bytes=integer("max_answer_bytes", 1 << 20, 1 << 30),
        )


def _integer(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be an integer, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{PREFIX}{name} must lie between {low} and {high}, not {value}")
    return value


def _words(raw: str | None) -> tuple[str, ...]:
    return tuple(word.strip() for word in (raw or "").split(",") if word.strip())


# What each setting does, for `territorialite serve --help`, which lists every field of Settings with
# its variable (PREFIX + the field's name in capitals) and its default.
DESCRIPTIONS: dict[str, str] = {
    "host": "address to listen on (0.0.0.0: every interface)",
    "port": "TCP port to listen on",
    "probe_port": "a second TCP port, answering only /healthz and /readyz, for the orchestrator's probes: "
    "a listen queue and a connection cap of their own, so that a flood of connections to the main port "
    "does not queue them behind it (none: probes use the main port); keep it private",
    "workers": "worker processes (1 to 64)",
    "log_level": "one of " + ", ".join(LOG_LEVELS),
    "max_body_bytes": "largest request body accepted; a bigger one is a 413",
    "cors_origins": "comma-separated origins a browser may call from (none: no CORS header)",
    "api_keys": "comma-separated keys, one of which /v1/ requests must carry in X-API-Key (none: open)",
    "geodata_dir": "folder of the geodata loaded at start-up (also read by `territorialite audit`)",
    "keep_alive_seconds": "how long an idle connection stays open",
    "graceful_shutdown_seconds": "how long requests in flight may finish after SIGTERM",
    "header_timeout_seconds": "a request head must be complete this long after the connection or the last answer (408)",
    "body_timeout_seconds": "each period this long must bring body_min_rate bytes a second of the body (408)",
    "body_min_rate": "bytes a second a body must average over each period of body_timeout_seconds",
    "write_timeout_seconds": "an answer the client stops reading is dropped after this long",
    "max_connections": "open connections per worker (kept under the descriptor limit); beyond, the one that has "
    "waited longest for a request head is closed, else the new one is refused",
    "max_queued_bytes": "request bodies a worker holds at once (received, waiting, computed); beyond, a 503 "
    "(default: twice max_body_bytes)",
    "compute_threads": "threads per worker computing bodies over inline_body_bytes, off the event loop",
    "inline_body_bytes": "bodies up to this size are computed on the event loop (cheaper than a thread hop)",
    "drain_bytes": "body bytes read and dropped after an early answer (413, 408, 503), before closing",
    "max_answer_bytes": (
        "an answer over this size is never sent: a 413 for a FHIR ranking (measured first), else a 500;"
        " also the answers a worker holds at once (beyond, a 503)"
    ),
}
