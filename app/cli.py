"""The `territorialite` command: serve the API, run the conformance kit, audit recorded sessions."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence

from app.settings import Settings, SettingsError


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.web.logging import log_config

    try:
        settings = Settings.from_environ()
    except SettingsError as error:
        print(f"territorialite: {error}", file=sys.stderr)
        return 2
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # workers share their metrics through files (prometheus_client multiprocess mode)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="territorialite-metrics-")
    uvicorn.run(
        "app.main:app",
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        log_config=log_config(settings.log_level),
        access_log=False,  # the service writes its own access log, without bodies or locations
        server_header=False,
        timeout_keep_alive=settings.keep_alive_seconds,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        h11_max_incomplete_event_size=16 * 1024,  # request line and headers: 16 KiB at most
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="territorialite", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the API (settings from TERRITORIALITE_* variables)").set_defaults(
        run=serve
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
