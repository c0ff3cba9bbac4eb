"""The `territorialite` command: serve the API, run the conformance kit, audit recorded sessions."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app import __version__
from app.runtime import SUPERVISOR_PID_VARIABLE
from app.settings import DESCRIPTIONS, PREFIX, Settings, SettingsError

if TYPE_CHECKING:
    import uvicorn

    from app.conformance.audit_file import FailOn

PASSED, NON_CONFORMANCE, USAGE_ERROR = 0, 1, 2  # exit codes of `conformance` and `audit`
STARTUP_FAILURE = 3  # `serve`: a port cannot be listened on, or the application did not start (as uvicorn)
VERSION = f"territorialite {__version__}"


def serve(args: argparse.Namespace) -> int:
    # Before any import of the metrics: prometheus_client makes its files there as metrics are made.
    given_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given_metrics_dir and not os.path.isdir(given_metrics_dir):
        print(f"territorialite: PROMETHEUS_MULTIPROC_DIR is not a folder: {given_metrics_dir}", file=sys.stderr)
        return 2
    import uvicorn

    from app.web.logging import log_config
    from app.web.protocol import descriptor_bounds

    try:
        settings = Settings.from_environ()
    except SettingsError as error:
        print(f"territorialite: {error}", file=sys.stderr)
        return 2
    own_metrics_dir = settings.workers > 1 and not given_metrics_dir
    if own_metrics_dir:
        # workers share their metrics through files (prometheus_client multiprocess mode)
        try:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="territorialite-metrics-")
        except OSError as error:  # a read-only root without a writable /tmp, as Kubernetes may run it
            print(
                f"territorialite: {settings.workers} workers share their metrics through a folder, and none could "
                f"be made ({error}): set PROMETHEUS_MULTIPROC_DIR to a writable folder, or TMPDIR",
                file=sys.stderr,
            )
            return 2
    if settings.workers > 1:
        os.environ[SUPERVISOR_PID_VARIABLE] = str(os.getpid())  # the workers stop with this process
    else:  # one given by the environment (copied from a worker's) would stop this server at once
        os.environ.pop(SUPERVISOR_PID_VARIABLE, None)
    _, backlog = descriptor_bounds(settings.max_connections, _raise_descriptor_limit())
    config = uvicorn.Config(
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
    try:
        return _run(config, _listening_sockets(settings))
    finally:
        if own_metrics_dir:  # a folder of this run's: the next run's metrics start from zero anyway
            shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def _listening_sockets(settings: Settings) -> list[socket.socket]:
    """The main port, and the probe port if set: a listener of its own, so that the probes never
    queue behind a flood of connections to the main port (make attack, 21,000 slow heads)."""
    sockets = [_bind(settings.host, settings.port, "requests")]
    if settings.probe_port is not None:
        sockets.append(_bind(settings.host, settings.probe_port, "probes (/healthz and /readyz only)"))
    return sockets


def startup_log() -> logging.Logger:
    return logging.getLogger("uvicorn.error")  # where uvicorn says what it listens on, as configured


def _bind(host: str, port: int, purpose: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP said, not left 0: asyncio sets TCP_NODELAY on accepted connections only then, and
    # without it an answer written in two parts waits for the client's delayed ACK (40 ms a request).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        startup_log().error("cannot listen on %s:%d for %s: %s", shown, port, purpose, error.strerror)
        raise SystemExit(STARTUP_FAILURE) from None
    startup_log().info("Listening on http://%s:%d for %s", shown, sock.getsockname()[1], purpose)
    sock.set_inheritable(True)  # the workers get it
    return sock


def _run(config: uvicorn.Config, sockets: list[socket.socket]) -> int:
    """What uvicorn.run does, with our sockets: one worker in this process, or a supervisor."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    server = uvicorn.Server(config)
    supervisor = Multiprocess(config, sockets=sockets) if config.workers > 1 else None
    try:
        if supervisor is not None:
            supervisor.run()
        else:
            server.run(sockets=sockets)
    except KeyboardInterrupt:
        pass
    finally:
        for sock in sockets:
            sock.close()
    if supervisor is None and not server.started:
        return STARTUP_FAILURE
    # uvicorn's supervisor stops when a worker could not start, and keeps that worker in its list
    if supervisor is not None and any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        return STARTUP_FAILURE
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
    from app.conformance.evidence import Evidence, command_line, utc_now
    from app.conformance.html import counted

    started = utc_now()
    try:
        cases = kit.load_kit(args.cases)
        kit.check_base_url(args.base_url)
        headers = {"X-API-Key": args.api_key} if args.api_key else {}
        with _report_folder(args.report), kit.open_client(args.base_url, headers) as client:
            deployment = kit.describe(client)
            print(f"{counted(len(cases.cases), 'case')} against {deployment.where}", file=sys.stderr)
            results = kit.run_cases(client, cases.cases)
    except (kit.KitError, kit.TargetError, OSError) as error:
        return _usage_error(error)
    kit.print_results(results, sys.stdout)
    if args.report:
        evidence = Evidence(started, utc_now(), command_line(args.argv), (cases.source,), deployment)
        kit.write_reports(results, args.report, evidence)
        print(f"reports in {args.report}: {', '.join(kit.REPORT_FILES)}")
    return NON_CONFORMANCE if any(not r.passed for r in results) else PASSED


def audit(args: argparse.Namespace) -> int:
    from app.conformance.audit_file import AuditInputError, audit_file, check_input, load_reference, print_summary
    from app.conformance.evidence import command_line, utc_now
    from app.runtime import loading_what_lasts

    started = utc_now()
    try:
        check_input(args.file)
        geodata_dir = Settings.from_environ().geodata_dir
        with _report_folder(args.report):
            with loading_what_lasts():  # then each session's objects are collected as a server worker's
                reference = load_reference(geodata_dir)
            outcome = audit_file(
                args.file,
                args.report,
                geodata_dir=geodata_dir,
                command_line=command_line(args.argv),
                started=started,
                reference=reference,
            )
    except (AuditInputError, SettingsError, OSError) as error:
        return _usage_error(error)
    print_summary(outcome, sys.stdout)
    return NON_CONFORMANCE if outcome.failed(args.fail_on) else PASSED


@contextlib.contextmanager
def _report_folder(folder: Path | None) -> Iterator[None]:
    """The report folder, made if needed and proven writable before any work (OSError otherwise);
    removed again if this run made it and the work fails before writing anything in it."""
    if folder is None:
        yield
        return
    made = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise OSError(f"--report {folder}: not a folder reports can be written in ({error.strerror})") from None
    try:
        yield
    except BaseException:
        if made and not any(folder.iterdir()):
            folder.rmdir()
        raise


def _usage_error(error: Exception) -> int:
    print(f"territorialite: {error}", file=sys.stderr)
    return USAGE_ERROR


def _fail_on(text: str) -> frozenset[FailOn]:
    from app.conformance.audit_file import FailOn

    words = {w.strip() for w in text.split(",") if w.strip()}
    if words == {"none"}:
        return frozenset()
    known = {choice.value: choice for choice in FailOn}
    if not words or not words <= set(known):
        raise argparse.ArgumentTypeError(f"expected {', '.join(known)}, both comma-separated, or none; not {text!r}")
    return frozenset(known[w] for w in words)


# ------------------------------------------------------------------ help texts

MAIN_EPILOG = """examples:
  territorialite serve
  territorialite conformance --base-url http://127.0.0.1:8000 --report conformance-report/
  territorialite audit sessions.jsonl --report audit-report/

exit codes of conformance and audit (each command's --help says more):
  0  every case passed; every session compliant or out of scope
  1  non-conformance found: a case failed; a session non-compliant, or inconclusive or invalid
     (as --fail-on says; by default both count)
  2  usage or input error, said once, before anything is sent or judged"""

CONFORMANCE_EPILOG = """The deployment is first asked to describe itself (GET /readyz, /v1/rulings and /v1/policies,
with --api-key when given). Its answers go into the reports' evidence, with the SHA-256 of the
case files run, the date and time (UTC) and the command line (the key masked).

example:
  territorialite conformance --base-url https://teleconsultation.example --api-key "$KEY" --report out/

exit codes:
  0  every case passed
  1  at least one case failed: the deployment does not conform
  2  usage or input error, said once, before any case is sent: unreadable --cases folder,
     --base-url not an http(s) URL, deployment unreachable or not ready, API key missing or
     refused, --report folder not writable"""

AUDIT_EPILOG = f"""FILE is JSON Lines: one recorded booking session per line, a JSON object with the fields of a
POST /v1/audits session (session_id, timestamp, channel, offers, information_message_shown,
location_input_offered, patient, proposals...: schema RecordedSession in openapi.yaml). Blank
lines are skipped; a line that is not a valid session, or whose session_id repeats an earlier
line's, is reported invalid. Sessions are read and judged in-process a batch at a time, so the
file may be of any size. The geodata come from {PREFIX}GEODATA_DIR when set.

Reports: summary.json (counts and evidence: tool version, date and time in UTC, command line,
SHA-256 of the file and of the geodata, the engine's version, geodata vintage, rulings version and
policies), failing_sessions.csv (one row per failing or inconclusive check, with its ruling, the
physicians and positions of an ordering failure, the missing fact of an inconclusive check; one
row per invalid session) and report.html.

example:
  territorialite audit sessions-2026-11.jsonl --report audit-2026-11/ --fail-on invalid

exit codes:
  0  no session fails the run: each is compliant or out of scope, or inconclusive or invalid
     and --fail-on leaves it out
  1  a session is non-compliant, or inconclusive or invalid and --fail-on names it
  2  usage or input error, said once, before any session is judged: no such FILE, FILE empty
     or not JSON Lines, --report folder not writable, geodata not found, a bad setting"""


def serve_epilog() -> str:
    """Every field of Settings, its variable and default: a setting added later is listed by itself."""
    defaults = Settings()
    lines = ["settings, read from the environment at start-up:"]
    for setting in dataclasses.fields(Settings):
        default = getattr(defaults, setting.name)
        shown = ",".join(default) if isinstance(default, tuple) else "" if default is None else str(default)
        lines.append(f"  {PREFIX}{setting.name.upper()} (default: {shown or 'none'})")
        lines.append(f"      {DESCRIPTIONS.get(setting.name, setting.name.replace('_', ' '))}")
    lines += [
        "",
        "example:",
        f"  {PREFIX}HOST=0.0.0.0 {PREFIX}PORT=8080 {PREFIX}API_KEYS=k1,k2 territorialite serve",
        "",
        "The API is then at http://HOST:PORT/ (GET / lists its links), the sandbox at /docs.",
        "exit codes: 0 stopped by Ctrl-C, or by SIGTERM with several workers (with one, uvicorn ends the process",
        "by the signal itself after the graceful shutdown: status 143); 2 a setting is invalid (the message names it);",
        "3 a port cannot be listened on (in use, say), or the application could not start.",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    from app.conformance.audit_file import FailOn
    from app.conformance.kit import CASES_DIR

    def command(name: str, summary: str, epilog: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,  # `--api k1` must not pass for `--api-key k1`: the key would escape masking
        )
        sub.add_argument("--version", action="version", version=VERSION)
        return sub

    parser = argparse.ArgumentParser(
        prog="territorialite",
        description=__doc__,
        epilog=MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=VERSION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serving = command("serve", "serve the HTTP API (settings from TERRITORIALITE_* variables)", serve_epilog())
    serving.set_defaults(run=serve)

    kit = command("conformance", "run the reference cases against a deployment, over HTTP", CONFORMANCE_EPILOG)
    kit.add_argument("--base-url", required=True, help="the deployment, e.g. http://127.0.0.1:8000")
    kit.add_argument("--report", type=Path, help="write conformance-junit.xml, .json and .html to this folder")
    kit.add_argument("--cases", type=Path, default=CASES_DIR, help="folder of *.yaml case files (default: the kit's)")
    kit.add_argument("--api-key", help="X-API-Key for deployments that require one (masked in the reports)")
    kit.set_defaults(run=conformance)

    recorded = command("audit", "judge recorded booking sessions (JSON Lines, one per line), in-process", AUDIT_EPILOG)
    recorded.add_argument("file", type=Path, metavar="FILE", help="JSON Lines: one recorded session per line")
    recorded.add_argument("--report", type=Path, required=True, help="folder for summary.json, the CSV and the HTML")
    recorded.add_argument(
        "--fail-on",
        type=_fail_on,
        default=frozenset(FailOn),
        metavar="WHAT",
        help="besides non-compliant sessions (always), what fails the run: inconclusive, invalid, "
        "both comma-separated (the default), or none",
    )
    recorded.set_defaults(run=audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
