"""The examples of openapi.yaml are true: each request example, sent to the live server, gets a
documented status, a body that fits the documented schema, and, where a response example has the
same name, exactly that body."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.live_server import ROOT

SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
REGISTRY = Registry().with_resource("urn:openapi", DRAFT202012.create_resource(SPEC))


def request_examples() -> list[tuple[str, str, str, dict]]:
    cases: list[tuple[str, str, str, dict]] = []
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            examples = (
                operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("examples", {})
            )
            cases.extend((method, path, name, example["value"]) for name, example in examples.items())
    return cases


def resolve(node: dict) -> dict:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def validate(instance: Any, schema: dict) -> None:
    jsonschema.Draft202012Validator(_absolutise(schema), registry=REGISTRY).validate(instance)


def _absolutise(node: Any) -> Any:
    """Local $refs (#/components/...) made to point into the whole document."""
    if isinstance(node, dict):
        return {
            k: ("urn:openapi" + v if k == "$ref" and v.startswith("#") else _absolutise(v)) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_absolutise(v) for v in node]
    return node


@pytest.mark.parametrize(
    ("method", "path", "name", "body"), request_examples(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_request_example_answers_what_it_documents(
    client: httpx.Client, method: str, path: str, name: str, body: dict
) -> None:
    response = client.request(method.upper(), path, json=body)
    documented = SPEC["paths"][path][method]["responses"]
    assert str(response.status_code) in documented, (name, response.status_code, response.text)
    answer = resolve(documented[str(response.status_code)])
    media_type = response.headers["content-type"]
    content = answer["content"][media_type]
    validate(response.json(), content["schema"])
    if name in content.get("examples", {}):
        assert response.json() == content["examples"][name]["value"]
    if name.startswith("invalid"):
        assert response.status_code == 422
    else:
        assert response.status_code == 200, response.text


def parameter_examples() -> list[tuple[str, str, str, Any]]:
    """(path, parameter, example name, value) of every named example of a GET query parameter."""
    return [
        (path, parameter["name"], name, example["value"])
        for path, item in SPEC["paths"].items()
        for parameter in item.get("get", {}).get("parameters", [])
        for name, example in parameter.get("examples", {}).items()
    ]


@pytest.mark.parametrize(
    ("path", "parameter", "name", "value"), parameter_examples(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_parameter_example_answers_what_it_documents(
    client: httpx.Client, path: str, parameter: str, name: str, value: Any
) -> None:
    response = client.get(path, params={parameter: value})
    documented = SPEC["paths"][path]["get"]["responses"]
    assert str(response.status_code) in documented, (name, response.status_code, response.text)
    content = resolve(documented[str(response.status_code)])["content"][response.headers["content-type"]]
    validate(response.json(), content["schema"])
    if name in content.get("examples", {}):
        assert response.json() == content["examples"][name]["value"]
    assert response.status_code == (422 if name.startswith("invalid") else 200), response.text


JSON_GETS = [
    path
    for path, item in SPEC["paths"].items()
    if "get" in item
    and "application/json" in item["get"]["responses"]["200"]["content"]
    and not any(parameter.get("required") for parameter in item["get"].get("parameters", []))
]


@pytest.mark.parametrize("path", JSON_GETS)
def test_get_examples_are_what_the_server_answers(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    content = SPEC["paths"][path]["get"]["responses"][str(response.status_code)]["content"]["application/json"]
    validate(response.json(), content["schema"])
    for example in content.get("examples", {}).values():
        validate(example["value"], content["schema"])
        if path.startswith("/v1/"):  # the health answers hold a version; the rest must be true
            assert is_excerpt(example["value"], response.json()), example["summary"]


def is_excerpt(example: Any, actual: Any) -> bool:
    """The example shows part of the actual answer, and nothing it shows is false: objects with a
    subset of the keys, lists with some of the items."""
    if isinstance(example, dict):
        return isinstance(actual, dict) and all(k in actual and is_excerpt(v, actual[k]) for k, v in example.items())
    if isinstance(example, list):
        return isinstance(actual, list) and all(any(is_excerpt(e, a) for a in actual) for e in example)
    return example == actual


def test_metrics_are_prometheus_text(client: httpx.Client) -> None:
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE territorialite_requests_total counter" in response.text
