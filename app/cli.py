"""The `territorialite` command: serve the API, run the conformance kit, audit recorded sessions."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from app.settings import Settings, SettingsError


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.web.logging import log_config
    from app.web.protocol import descriptor_bounds

    try:
        settings = Settings.from_environ()
    except SettingsError as error:
        print(f"territorialite: {error}", file=sys.stderr)
        return 2
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # workers share their metrics through files (prometheus_client multiprocess mode)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="territorialite-metrics-")
    _, backlog = descriptor_bounds(settings.max_connections, _raise_descriptor_limit())
    uvicorn.run(
        "app.main:app",
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        log_config=log_config(settings.log_level),
        access_log=False,  # the service writes its own access log, without bodies or locations
        server_header=False,
        # asyncio's loop, not uvloop: same throughput here, but under saturation uvloop let some
        # connections wait ten times the median (p99 309 ms against 48 ms; see README, Performance).
        loop="asyncio",
        # httptools, with the limits it lacks: head size and time, connections, slow readers
        http="app.web.protocol:HardenedHttpToolsProtocol",
        ws="none",
        backlog=backlog,
        timeout_keep_alive=settings.keep_alive_seconds,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
    )
    return 0


def _raise_descriptor_limit() -> int:
    """The soft limit of open files raised to the hard one (workers inherit it); the new limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


def conformance(args: argparse.Namespace) -> int:
    from app.conformance import kit

    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    results = kit.run_kit(args.base_url, kit.load_cases(args.cases), headers)
    kit.print_results(results, sys.stdout)
    if args.report:
        kit.write_reports(results, args.report, kit.evidence(args.base_url))
        print(f"reports in {args.report}: conformance-junit.xml, conformance.json, conformance.html")
    return 0 if all(r.passed for r in results) else 1


def audit(args: argparse.Namespace) -> int:
    from app.conformance.audit_file import audit_file, print_summary

    if not args.file.is_file():
        print(f"territorialite: no such file: {args.file}", file=sys.stderr)
        return 2
    print_summary(audit_file(args.file, args.report), sys.stdout)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from app.conformance.kit import CASES_DIR

    parser = argparse.ArgumentParser(prog="territorialite", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serving = commands.add_parser("serve", help="serve the API (settings from TERRITORIALITE_* variables)")
    serving.set_defaults(run=serve)

    kit = commands.add_parser("conformance", help="run the reference cases against a deployment")
    kit.add_argument("--base-url", required=True, help="the deployment, e.g. http://127.0.0.1:8000")
    kit.add_argument("--report", type=Path, help="write JUnit XML, JSON and HTML reports to this folder")
    kit.add_argument("--cases", type=Path, default=CASES_DIR, help="folder of case files (default: the shipped kit)")
    kit.add_argument("--api-key", help="X-API-Key for deployments that require one")
    kit.set_defaults(run=conformance)

    recorded = commands.add_parser("audit", help="judge recorded booking sessions (JSON Lines) in-process")
    recorded.add_argument("file", type=Path, help="one session per line, as in POST /v1/audits")
    recorded.add_argument("--report", type=Path, required=True, help="folder for summary.json, CSV and HTML")
    recorded.set_defaults(run=audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
