"""POST /v1/rankings/fhir against a real uvicorn on loopback, with the bundles built from the
Annuaire Santé IG examples (tests/fixtures/fhir, see its README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.contract.limits import DEFAULT_MAX_BODY_BYTES

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fhir"


def fixture(name: str) -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return bundle


def post(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return client.post("/v1/rankings/fhir", json=body)


# name, patient, expected (role id, RPPS, organisation, tier) in order
DOCUMENTED = [
    (
        "liberal-cabinet",
        {"postal_code": "27000"},
        [("1738459", "10003461033", "CABINET SAINT ANTOINE", "same_departement")],
    ),
    ("salaried-hospital", {"commune": "75115"}, [("1578230", "10003461033", "CH EURE-SEINE", "same_departement")]),
    (
        "several-roles",
        {"postal_code": "27000"},
        [
            ("1738459", "10003461033", "CABINET SAINT ANTOINE", "same_departement"),
            ("1578230", "10003461033", "CH EURE-SEINE", "outside_territory"),
            ("pp19-role-bourges", "10003461033", "Hôpital fictif", "outside_territory"),
            ("pp19-role-nancy", "10003461033", "CHRU NANCY - HOPITAUX DE BRABOIS", "outside_territory"),
        ],
    ),
    (
        "postal-code-only",
        {"commune": "58194"},
        [
            ("1738459", "10003461033", "CABINET SAINT ANTOINE", "same_departement"),
            ("1578230", "10003461033", "CH EURE-SEINE", "outside_territory"),
        ],
    ),
    (
        "no-address",
        {"commune": "75115"},
        [
            ("1578230", "10003461033", "CH EURE-SEINE", "same_departement"),
            ("5015602", "10102727017", "PHARMACIE NOLOT", "unlocated"),
            ("1738459", "10003461033", "CABINET SAINT ANTOINE", "unlocated"),
        ],
    ),
]


@pytest.mark.parametrize(("name", "patient", "expected"), DOCUMENTED, ids=[d[0] for d in DOCUMENTED])
def test_the_ig_bundles_rank_as_documented(
    client: httpx.Client, name: str, patient: dict[str, str], expected: list[tuple[str, str, str, str]]
) -> None:
    response = post(client, {"patient": {"location": patient}, "bundle": fixture(name)})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    ranking = response.json()["ranking"]
    assert [(r["id"], r["practitioner"]["rpps"], r["organization"]["name"], r["tier"]) for r in ranking] == expected
    assert [r["rank"] for r in ranking] == list(range(1, len(expected) + 1))


def test_the_bundle_format_round_trips(client: httpx.Client) -> None:
    sent = fixture("several-roles")
    response = post(client, {"patient": {"location": {"commune": "75115"}}, "bundle": sent, "format": "bundle"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    returned = response.json()
    entries = [e for e in returned["entry"] if e["search"]["mode"] != "outcome"]
    by_url = {e["fullUrl"]: e["resource"] for e in sent["entry"]}
    assert {e["fullUrl"]: e["resource"] for e in entries} == by_url  # the same resources, untouched
    assert [e["resource"]["id"] for e in entries[:4]] == ["1578230", "1738459", "pp19-role-bourges", "pp19-role-nancy"]
    scores = [e["search"]["score"] for e in entries[:4]]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == 1
    assert all(0 < s <= 1 for s in scores)
    ranks = [
        next(p["valueInteger"] for p in e["search"]["extension"][0]["extension"] if p["url"] == "rank")
        for e in entries[:4]
    ]
    assert ranks == [1, 2, 3, 4]


def test_broken_references_are_reported_never_a_500(client: httpx.Client) -> None:
    bundle = fixture("liberal-cabinet")
    bundle["entry"][0]["resource"]["practitioner"] = {"reference": "Practitioner/gone"}
    bundle["entry"][0]["resource"]["organization"] = {"reference": "#nothing"}
    response = post(client, {"patient": {"location": {"postal_code": "27000"}}, "bundle": bundle})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ranking"][0]["tier"] == "unlocated"
    assert [(w["pointer"], w["code"]) for w in body["warnings"]] == [
        ("/bundle/entry/0/resource/practitioner/reference", "reference_unresolved"),
        ("/bundle/entry/0/resource/organization/reference", "reference_unresolved"),
        ("/bundle/entry/0/resource", "physician_unlocated"),
    ]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "kind"),
    [
        (b'{"bundle": {', "application/json", 400, "malformed-json"),
        (
            b'{"bundle": {"resourceType": "Bundle", "type": "searchset", "entry": "x"}}',
            "application/json",
            422,
            "invalid-request",
        ),
        (b'{"bundle": {}}', "text/plain", 415, "unsupported-media-type"),
        (b" " * (DEFAULT_MAX_BODY_BYTES + 1), "application/json", 413, "payload-too-large"),
    ],
)
def test_bad_input_is_a_bounded_problem(
    client: httpx.Client, content: bytes, content_type: str, status: int, kind: str
) -> None:
    response = client.post("/v1/rankings/fhir", content=content, headers={"content-type": content_type})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == f"urn:territorialite:problem:{kind}"


def test_a_wrongly_typed_element_is_named(client: httpx.Client) -> None:
    bundle = fixture("salaried-hospital")
    bundle["entry"][2]["resource"]["address"][0]["postalCode"] = 75014
    response = post(client, {"bundle": bundle})
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/bundle/entry/2/resource/address/0/postalCode"]
