"""The conformance kit: reference cases (cases/*.yaml) run over HTTP against any deployment.

`territorialite conformance --base-url URL [--report DIR]` prints PASS or FAIL per case with a
readable difference, writes JUnit XML, JSON and a self-contained HTML report, and exits 1 when a
case fails.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import yaml

from app import __version__, resources
from app.conformance import html

CASES_DIR = resources.package_file("app.conformance", "cases")
MISSING = object()
_STEP = re.compile(r"([^.\[\]]+)|\[(\*|\d+)\]")


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


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    cases = [
        Case(**raw) for path in sorted(directory.glob("*.yaml")) for raw in yaml.safe_load(path.read_text("utf-8"))
    ]
    ids = [c.id for c in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate case ids: {sorted(duplicates)}")
    return cases


def cases_digest(directory: Path = CASES_DIR) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


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


def run_kit(base_url: str, cases: Sequence[Case], headers: dict[str, str] | None = None) -> list[CaseResult]:
    # keep-alive shorter than the service's 5 s, so that no case reuses a connection being closed
    limits = httpx.Limits(keepalive_expiry=2)
    with httpx.Client(base_url=base_url, headers=headers or {}, timeout=30, limits=limits) as client:
        return [run_case(client, case) for case in cases]


def print_results(results: Iterable[CaseResult], out: IO[str]) -> None:
    results = list(results)
    for r in results:
        print(f"{'PASS' if r.passed else 'FAIL'} {r.id} {r.title}", file=out)
        for difference in r.differences:
            print(f"     - {difference}", file=out)
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed", file=out)


# ------------------------------------------------------------------ reports


def evidence(base_url: str) -> dict[str, object]:
    """What the deployment says of itself, and which cases ran: enough to reproduce the run."""
    info: dict[str, object] = {"kit_version": __version__, "base_url": base_url, "cases_sha256": cases_digest()}
    try:
        with httpx.Client(base_url=base_url, timeout=10) as client:
            ready = client.get("/readyz").json()
            info["service_version"] = ready.get("version")
            info["geodata_vintage"] = ready.get("geodata")
            info["rulings_version"] = client.get("/v1/rulings").json().get("version")
            info["policies"] = [f"{p['name']} v{p['version']}" for p in client.get("/v1/policies").json()["policies"]]
    except (httpx.HTTPError, ValueError, KeyError, AttributeError, TypeError):
        info["service"] = "did not describe itself"
    return info


def write_reports(results: Sequence[CaseResult], directory: Path, facts: dict[str, object]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    failed = sum(not r.passed for r in results)
    summary = {
        "passed": len(results) - failed,
        "failed": failed,
        "evidence": facts,
        "cases": [asdict(r) for r in results],
    }
    (directory / "conformance.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
    (directory / "conformance-junit.xml").write_bytes(_junit(results))
    (directory / "conformance.html").write_text(_html(results, facts), "utf-8")


def _junit(results: Sequence[CaseResult]) -> bytes:
    failures = sum(not r.passed for r in results)
    suite = ET.Element(
        "testsuite",
        name="territorialite-conformance",
        tests=str(len(results)),
        failures=str(failures),
        time=f"{sum(r.seconds for r in results):.3f}",
    )
    for r in results:
        case = ET.SubElement(
            suite, "testcase", classname="conformance", name=f"{r.id} {r.title}", time=f"{r.seconds:.3f}"
        )
        if not r.passed:
            failure = ET.SubElement(case, "failure", message=r.differences[0])
            failure.text = "\n".join(r.differences)
        ET.SubElement(case, "system-out").text = f"rule: {r.rule}"
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)


def _html(results: Sequence[CaseResult], facts: dict[str, object]) -> str:
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
        html.cards({"cases": len(results), "passed": len(results) - failed, "failed": failed}),
        "<h2>Cases</h2>",
        html.table(["result", "case", "what it checks", "rule", "difference"], rows, raw=True),
        "<h2>Evidence</h2>",
        html.table(["what", "value"], [[k, json.dumps(v, ensure_ascii=False)] for k, v in facts.items()]),
    ]
    return html.page("Territoriality conformance", "".join(body))
