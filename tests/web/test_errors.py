"""Every bad input gets a 4xx problem+json naming what was wrong; never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

PROBLEM = "application/problem+json"
VALID = {"patient": {"location": {"commune": "13055"}}, "physicians": [{"id": "a", "location": {"commune": "13055"}}]}


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"urn:territorialite:problem:{kind}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


def test_malformed_json(client: httpx.Client) -> None:
    response = client.post("/v1/rankings", content=b'{"physicians": [', headers={"content-type": "application/json"})
    assert_problem(response, 400, "malformed-json")


def test_unknown_route(client: httpx.Client) -> None:
    assert_problem(client.get("/v2/rankings"), 404, "not-found")


def test_wrong_method(client: httpx.Client) -> None:
    assert_problem(client.put("/v1/rankings", json=VALID), 405, "method-not-allowed")


def test_body_over_the_limit(client: httpx.Client) -> None:
    huge = b'{"physicians": [' + b'{"id": "x", "location": {"commune": "13055"}},' * 60_000 + b"]}"
    assert len(huge) > 2 * 1024 * 1024
    assert_problem(
        client.post("/v1/rankings", content=huge, headers={"content-type": "application/json"}),
        413,
        "payload-too-large",
    )


def test_body_over_the_limit_without_content_length(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"physicians": ['
        for _ in range(600):
            yield b'{"id": "x", "location": {"commune": "13055"}},' * 100

    response = client.post("/v1/rankings", content=chunks(), headers={"content-type": "application/json"})
    assert_problem(response, 413, "payload-too-large")


def test_wrong_content_type(client: httpx.Client) -> None:
    response = client.post(
        "/v1/rankings", content=b"a=b", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert_problem(response, 415, "unsupported-media-type")


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"physicians": []}, "/physicians"),
        ({"physicians": [{"id": "a"}]}, "/physicians/0/location"),
        ({"physicians": [{"id": "a", "location": {}}]}, "/physicians/0/location"),
        ({"physicians": [{"id": "", "location": {"commune": "13055"}}]}, "/physicians/0/id"),
        ({"physicians": [{"id": "a", "location": {"commune": "1305"}}]}, "/physicians/0/location/commune"),
        ({**VALID, "policy": "nearest"}, "/policy"),
        ({**VALID, "limit": 0}, "/limit"),
        (
            {**VALID, "patient": {"location": {"coordinates": {"lat": 91, "lon": 0}}}},
            "/patient/location/coordinates/lat",
        ),
        ({**VALID, "postcode": "13001"}, "/postcode"),
        ([], ""),
    ],
)
def test_invalid_fields_are_named(client: httpx.Client, body: object, pointer: str) -> None:
    problem = assert_problem(client.post("/v1/rankings", json=body), 422, "invalid-request")
    assert pointer in [e["pointer"] for e in problem["errors"]]
    assert all(e["detail"] for e in problem["errors"])


def test_too_many_physicians(client: httpx.Client) -> None:
    body = {"physicians": [{"id": str(i), "location": {"commune": "13055"}} for i in range(10_001)]}
    problem = assert_problem(client.post("/v1/rankings", json=body), 422, "invalid-request")
    assert problem["errors"][0]["pointer"] == "/physicians"


def test_deeply_nested_json_is_refused_cleanly(client: httpx.Client) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    response = client.post("/v1/rankings", content=nested, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422)
    assert response.headers["content-type"] == PROBLEM


def test_oversized_headers_are_refused(client: httpx.Client) -> None:
    assert_problem(client.get("/v1/policies", headers={"X-Padding": "a" * 20_000}), 431, "headers-too-large")
    assert client.get("/v1/policies", headers={"X-Padding": "a" * 8_000}).status_code == 200


@pytest.mark.parametrize("path", ["/v1/rankings", "/v1/scenario-evaluations", "/v1/audits"])
def test_a_key_given_twice_is_refused_naming_it(client: httpx.Client, path: str) -> None:
    body = b'{"policy": "departement", "policy": "radius"}'
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    problem = assert_problem(response, 400, "duplicate-key")
    assert problem["errors"] == [
        {"pointer": "/policy", "detail": "the key 'policy' appears more than once in this object"}
    ]


def test_a_problem_lists_at_most_100_errors_and_counts_them_all(client: httpx.Client) -> None:
    body: dict[str, list[dict[str, object]]] = {"physicians": [{} for _ in range(10_000)]}
    problem = assert_problem(client.post("/v1/rankings", json=body), 422, "invalid-request")
    assert len(problem["errors"]) == 100
    assert problem["error_count"] == 20_000  # id and location missing in each


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_numbers_json_has_not_are_malformed_json(client: httpx.Client, number: bytes) -> None:
    body = b'{"physicians": [{"id": "a", "location": {"coordinates": {"lat": ' + number + b', "lon": 2.0}}}]}'
    problem = assert_problem(
        client.post("/v1/rankings", content=body, headers={"content-type": "application/json"}),
        400,
        "malformed-json",
    )
    assert "RFC 8259" in problem["detail"]


def test_a_repeated_key_of_any_length_gets_an_answer_of_bounded_size(client: httpx.Client) -> None:
    body = b'{"' + b"/" * 1_000_000 + b'": {"d": 1, "d": 2}}'
    response = client.post("/v1/rankings", content=body, headers={"content-type": "application/json"})
    assert_problem(response, 400, "duplicate-key")
    assert len(response.content) < 2_000
