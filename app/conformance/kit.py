"""The conformance kit: reference cases (cases/*.yaml) run over HTTP against any deployment.

`territorialite conformance --base-url URL [--report DIR]` first asks the deployment to describe
itself (GET /readyz, /v1/rulings, /v1/policies, with the run's credentials): a bad URL, a target
that does not answer or a refused key stops the run there, once, before any case. Then it prints
PASS or FAIL per case with a readable difference, and writes JUnit XML, JSON and a self-contained
HTML report, each carrying the run's evidence (evidence.py).
"""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Annotated, Any, Literal, NotRequired

import httpx
import yaml
from pydantic import ConfigDict, StringConstraints, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from app import resources
from app.conformance import html
from app.conformance.evidence import Deployment, Evidence, InputDigest, folder_digest, utc_text

CASES_DIR = resources.package_file("app.conformance", "cases")
CASE_FILES = "*.yaml"
MISSING = object()
_STEP = re.compile(r"([^.\[\]]+)|\[(\*|\d+)\]")
_CREDENTIALS = re.compile(r"//[^/?#]*@")
DESCRIPTION = ("/readyz", "/v1/rulings", "/v1/policies")  # what a deployment says of itself


@with_config(ConfigDict(extra="forbid", strict=True))
class _CaseRequest(TypedDict):
    method: Literal["GET", "POST"]
    path: Annotated[str, StringConstraints(pattern=r"^/")]
    body: NotRequired[Any]


@with_config(ConfigDict(extra="forbid", strict=True))
class _CaseExpectation(TypedDict):
    status: NotRequired[int]
    content_type: NotRequired[str]
    json: NotRequired[dict[str, Any]]


@with_config(ConfigDict(extra="forbid", strict=True))
class _CaseFields(TypedDict):
    id: str
    title: str
    rule: str
    request: _CaseRequest
    expect: _CaseExpectation


_CASE_FILE = TypeAdapter(list[_CaseFields])


class KitError(ValueError):
    """The cases cannot be read: a usage error, found before anything is sent."""


class TargetError(ValueError):
    """The deployment cannot be judged: bad URL, no answer, credentials refused, not ready."""


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    rule: str
    request: dict[str, Any]
    expect: dict[str, Any]


@dataclass
class CaseResult:
    id: str
    title: str
    rule: str
    passed: bool
    seconds: float
    differences: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Kit:
    """The cases of one run, and the digest of the very bytes they were read from."""

    cases: list[Case]
    source: InputDigest


def load_kit(directory: Path = CASES_DIR) -> Kit:
    if not directory.is_dir():
        raise KitError(f"no such folder of cases: {directory}")
    contents = {path.name: path.read_bytes() for path in sorted(directory.glob(CASE_FILES))}
    if not contents:
        raise KitError(f"no case file ({CASE_FILES}) in {directory}")
    cases = [case for name, raw in contents.items() for case in _cases_of(name, raw)]
    ids = [c.id for c in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise KitError(f"duplicate case ids: {sorted(duplicates)}")
    return Kit(cases, folder_digest("conformance cases", directory, contents, CASE_FILES))


def _cases_of(name: str, raw: bytes) -> list[Case]:
    try:
        items = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        raise KitError(f"{name} is not YAML: {error}") from None
    if not isinstance(items, list):
        raise KitError(f"{name} must hold a list of cases")
    try:
        fields = _CASE_FILE.validate_python(items)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise KitError(
            f"{name}: case {where}: {first['msg']} ({error.error_count()} error(s); each case has id, title, "
            "rule, request {method: GET|POST, path: /..., body}, expect {status, content_type, json})"
        ) from None
    return [Case(f["id"], f["title"], f["rule"], dict(f["request"]), dict(f["expect"])) for f in fields]


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    return load_kit(directory).cases


def extract(document: Any, path: str) -> Any:
    """`a.b`, `a[0]`, `a[*].b` into a JSON document; MISSING when absent."""
    current: list[Any] | Any = document
    spread = False
    for name, index in _STEP.findall(path):
        current = [_step(item, name, index) for item in current] if spread else _step(current, name, index)
        if index == "*":
            spread = True
        if current is MISSING or (spread and MISSING in current):
            return MISSING
    return current


def _step(node: Any, name: str, index: str) -> Any:
    if name:
        return node.get(name, MISSING) if isinstance(node, dict) else MISSING
    if index == "*":
        return node if isinstance(node, list) else MISSING
    position = int(index)
    return node[position] if isinstance(node, list) and position < len(node) else MISSING


def run_case(client: httpx.Client, case: Case) -> CaseResult:
    started = time.perf_counter()
    differences: list[str] = []
    try:
        response = client.request(case.request["method"], case.request["path"], json=case.request.get("body"))
    except httpx.HTTPError as error:
        return CaseResult(case.id, case.title, case.rule, False, time.perf_counter() - started, [f"no answer: {error}"])
    expected_status = case.expect.get("status", 200)
    if response.status_code != expected_status:
        differences.append(f"status: expected {expected_status}, got {response.status_code}")
    expected_type = case.expect.get("content_type", "application/json")
    if response.headers.get("content-type", "").split(";")[0] != expected_type:
        differences.append(f"content-type: expected {expected_type}, got {response.headers.get('content-type')}")
    try:
        document = response.json()
    except ValueError:
        document = MISSING
        differences.append("body: not JSON")
    if document is not MISSING:
        differences += _compare(document, case.expect.get("json", {}))
    return CaseResult(case.id, case.title, case.rule, not differences, time.perf_counter() - started, differences)


def _compare(document: Any, expectations: dict[str, Any]) -> list[str]:
    differences = []
    for path, expected in expectations.items():
        actual = extract(document, path)
        if actual is MISSING:
            differences.append(f"{path}: expected {_show(expected)}, but the answer has no such field")
        elif actual != expected:
            differences.append(f"{path}: expected {_show(expected)}, got {_show(actual)}")
    return differences


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def check_base_url(base_url: str) -> httpx.URL:
    shown = _CREDENTIALS.sub("//***@", base_url)  # user:password@host: never echoed, never in a report
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as error:
        raise TargetError(f"--base-url {shown!r} is not a URL: {error}") from None
    if url.userinfo:
        raise TargetError("--base-url must not carry credentials (user:password@): use --api-key, which is masked")
    if url.scheme not in ("http", "https") or not url.host:
        raise TargetError(f"--base-url must be an http:// or https:// URL such as http://127.0.0.1:8000, not {shown!r}")
    return url


def open_client(base_url: str, headers: dict[str, str] | None = None) -> httpx.Client:
    # keep-alive shorter than the service's 5 s, so that no case reuses a connection being closed
    limits = httpx.Limits(keepalive_expiry=2)
    return httpx.Client(base_url=check_base_url(base_url), headers=headers or {}, timeout=30, limits=limits)


def describe(client: httpx.Client) -> Deployment:
    """The deployment's self-description, asked with the run's own credentials.

    Raises TargetError when there is no point in running the cases: nothing answers, the
    credentials are refused, or the deployment says it is not ready.
    """
    where = str(client.base_url).rstrip("/")
    answers: dict[str, httpx.Response] = {}
    for path in DESCRIPTION:
        try:
            answers[path] = client.get(path)
        except httpx.TransportError as error:
            raise TargetError(f"cannot reach {where}: {error or type(error).__name__}") from None
    refused = [f"GET {p} answered {r.status_code}" for p, r in answers.items() if r.status_code in (401, 403)]
    if refused:
        hint = "the API key was refused" if "x-api-key" in client.headers else "it requires an API key: --api-key KEY"
        raise TargetError(f"{where} refused the kit ({', '.join(refused)}): {hint}")
    if answers["/readyz"].status_code == 503:
        raise TargetError(f"{where} is not ready (GET /readyz answered 503): try again once it has started")
    unanswered = [f"GET {p} answered {r.status_code}" for p, r in answers.items() if r.status_code != 200]
    if unanswered:
        return Deployment.not_described(where, ", ".join(unanswered))
    try:
        documents = [answers[path].json() for path in DESCRIPTION]
    except ValueError:
        return Deployment.not_described(where, "its self-description is not JSON")
    return Deployment.from_answers(where, *documents)


def run_cases(client: httpx.Client, cases: Sequence[Case]) -> list[CaseResult]:
    return [run_case(client, case) for case in cases]


def print_results(results: Iterable[CaseResult], out: IO[str]) -> None:
    results = list(results)
    for r in results:
        print(f"{'PASS' if r.passed else 'FAIL'} {r.id} {r.title}", file=out)
        for difference in r.differences:
            print(f"     - {difference}", file=out)
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed:,} passed, {failed:,} failed", file=out)


# ------------------------------------------------------------------ reports

REPORT_FILES = ("conformance-junit.xml", "conformance.json", "conformance.html")


def write_reports(results: Sequence[CaseResult], directory: Path, evidence: Evidence) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    failed = sum(not r.passed for r in results)
    summary = {
        "passed": len(results) - failed,
        "failed": failed,
        "evidence": evidence.as_json(),
        "cases": [asdict(r) for r in results],
    }
    (directory / "conformance.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
    (directory / "conformance-junit.xml").write_bytes(_junit(results, evidence))
    (directory / "conformance.html").write_text(_html(results, evidence), "utf-8")


def _junit(results: Sequence[CaseResult], evidence: Evidence) -> bytes:
    failures = sum(not r.passed for r in results)
    suite = ET.Element(
        "testsuite",
        name="territorialite-conformance",
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
        time=f"{sum(r.seconds for r in results):.3f}",
        timestamp=utc_text(evidence.started_at),
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in evidence.rows():
        ET.SubElement(properties, "property", name=name, value=value)
    for r in results:
        case = ET.SubElement(
            suite, "testcase", classname="conformance", name=f"{r.id} {r.title}", time=f"{r.seconds:.3f}"
        )
        if not r.passed:
            failure = ET.SubElement(case, "failure", message=r.differences[0])
            failure.text = "\n".join(r.differences)
        ET.SubElement(case, "system-out").text = f"rule: {r.rule}"
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)


def _html(results: Sequence[CaseResult], evidence: Evidence) -> str:
    failed = sum(not r.passed for r in results)
    rows = [
        [
            f"<span class='{'pass' if r.passed else 'fail'}'>{'PASS' if r.passed else 'FAIL'}</span>",
            html.escape(r.id),
            html.escape(r.title),
            html.escape(r.rule),
            "<br>".join(html.escape(d) for d in r.differences),
        ]
        for r in results
    ]
    body = [
        "<h1>Territoriality conformance kit</h1>",
        html.note(evidence.headline()),
        html.cards({"cases run": len(results), "passed": len(results) - failed, "failed": failed}),
        "<h2>Cases</h2>",
        html.table(["result", "case", "what it checks", "rule", "difference"], rows, raw=True),
        "<h2>Evidence</h2>",
        html.table(["what", "value"], evidence.rows()),
    ]
    return html.page("Territoriality conformance", "".join(body))
