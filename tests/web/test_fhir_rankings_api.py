"""POST /v1/rankings/fhir against a real uvicorn on loopback, with the bundles built from the
Annuaire Santé IG examples (tests/fixtures/fhir, see its README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from app.contract.limits import DEFAULT_MAX_BODY_BYTES
from tests.fixtures.fhir.build import BASE, IDNAT_STRUCT, OLD_INSEE, at, fixture, organization, role, searchset

OPENAPI = yaml.safe_load((Path(__file__).parents[2] / "openapi.yaml").read_text(encoding="utf-8"))
WARNING_CODES = set(OPENAPI["components"]["schemas"]["FhirWarning"]["properties"]["code"]["enum"])


def post(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return client.post("/v1/rankings/fhir", json=body)


def ranked(client: httpx.Client, bundle: dict[str, Any], patient: dict[str, str], **more: Any) -> dict[str, Any]:
    response = post(client, {"patient": {"location": patient}, "bundle": bundle, **more})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    if response.headers["content-type"] == "application/json":
        assert {w["code"] for w in body["warnings"]} <= WARNING_CODES  # every code the service says is documented
    return body


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
    assert {w["role"]["id"] for w in body["warnings"]} == {"1738459"}


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


# ---------------------------------------------------------------- the reviewer's findings, against a real server


def test_a_role_without_a_practice_site_is_unlocated_with_the_fhir_wording_only(client: httpx.Client) -> None:
    """PP16DR-Organization (PHARMACIE NOLOT) has no address: the engine ranks the role unlocated (it
    takes a physician without any location); the answer keeps one warning, in the FHIR words."""
    body = ranked(client, fixture("no-address"), {"commune": "75115"})
    assert [(w["role"]["id"], w["pointer"], w["code"]) for w in body["warnings"]] == [
        ("5015602", "/bundle/entry/4/resource", "physician_unlocated"),
        ("1738459", "/bundle/entry/6/resource", "physician_unlocated"),
    ]
    assert all(w["detail"].startswith("no practice site gives") for w in body["warnings"])


def test_an_organisation_with_only_a_postal_code_of_two_departements(client: httpx.Client) -> None:
    """01200 serves communes of the Ain (01) and of Haute-Savoie (74): the role is placed in both
    and ranked by the best, as POST /v1/rankings does, and both warnings are documented codes."""
    bundle = searchset(role("r", "Organization/o"), organization("o", {"postalCode": "01200"}))
    body = ranked(client, bundle, {"commune": "74010"})
    assert (body["ranking"][0]["tier"], body["ranking"][0]["departement"]) == ("same_departement", "74")
    assert [(w["code"], w["pointer"]) for w in body["warnings"]] == [
        ("ambiguous_postal_code", "/bundle/entry/1/resource/address/0/postalCode"),
        ("several_departements", "/bundle/entry/1/resource/address/0/postalCode"),
    ]
    assert "placed in each of its départements (01, 74) and ranked by the best" in body["warnings"][0]["detail"]
    assert "first département" not in body["warnings"][0]["detail"]
    plain = client.post(
        "/v1/rankings",
        json={
            "patient": {"location": {"commune": "74010"}},
            "physicians": [{"id": "r", "location": {"postal_code": "01200"}}],
        },
    ).json()
    assert (plain["ranking"][0]["tier"], plain["ranking"][0]["departement"]) == ("same_departement", "74")


def test_merged_pages_repeat_an_organisation_whole_and_it_counts_once(client: httpx.Client) -> None:
    """Two pages of 50, merged: the Organization both pages include comes twice, with or without
    its fullUrl. Repeated whole, it is one resource (and one entry of the returned Bundle)."""
    paris = organization("o1", at("75056"), full_url=f"{BASE}/Organization/o1")
    for twice in (paris, {"resource": paris["resource"]}):
        bundle = searchset(
            {"fullUrl": f"{BASE}/PractitionerRole/a", **role("a", "Organization/o1")},
            paris,
            {"fullUrl": f"{BASE}/PractitionerRole/b", **role("b", "Organization/o1")},
            twice,
        )
        body = ranked(client, bundle, {"commune": "75056"})
        assert [(r["id"], r["tier"], r["located_by"]) for r in body["ranking"]] == [
            ("a", "same_departement", "/bundle/entry/1/resource/address/0"),
            ("b", "same_departement", "/bundle/entry/1/resource/address/0"),
        ]
        assert body["warnings"] == []
        returned = ranked(client, bundle, {"commune": "75056"}, format="bundle")["entry"]
        assert [e["resource"]["id"] for e in returned] == ["a", "b", "o1"]
    repeated_role = searchset(role("a", "Organization/o1"), paris, role("a", "Organization/o1"))
    assert [r["id"] for r in ranked(client, repeated_role, {"commune": "75056"})["ranking"]] == ["a"]


def test_versions_of_one_fullurl_follow_bdl_7(client: httpx.Client) -> None:
    """FHIR R4 bdl-7: entries may share a fullUrl when their meta.versionId differ. A versioned
    reference picks its version; an unversioned one is ambiguous, and said so."""
    url = f"{BASE}/Organization/o1"
    v1 = organization("o1", at("75056"), full_url=url, meta={"versionId": "1"})
    v2 = organization("o1", at("13055"), full_url=url, meta={"versionId": "2"})
    bundle = searchset(
        {"fullUrl": f"{BASE}/PractitionerRole/a", **role("a", "Organization/o1/_history/2")},
        {"fullUrl": f"{BASE}/PractitionerRole/b", **role("b", "Organization/o1")},
        v1,
        v2,
    )
    body = ranked(client, bundle, {"commune": "13055"})
    assert [(r["id"], r["tier"]) for r in body["ranking"]] == [("a", "same_departement"), ("b", "unlocated")]
    warning = body["warnings"][0]
    assert (warning["code"], warning["role"]["id"], warning["pointer"]) == (
        "reference_ambiguous",
        "b",
        "/bundle/entry/1/resource/organization/reference",
    )
    assert (
        "several versions of Organization/o1 are in the bundle (entries 2, 3, meta.versionId 1, 2)" in warning["detail"]
    )
    assert "points nowhere" not in warning["detail"]
    same_version = searchset(
        role("a", "Organization/o1"), v1, {**v2, "resource": {**v2["resource"], "meta": {"versionId": "1"}}}
    )
    response = post(client, {"bundle": same_version})
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/bundle/entry/2/fullUrl"]
    assert "bdl-7" in response.json()["detail"]


def test_two_different_entries_of_one_type_and_id_are_ambiguous_in_honest_words(client: httpx.Client) -> None:
    bundle = searchset(
        role("a", "Organization/o1"), organization("o1", at("75056")), organization("o1", {"postalCode": "13001"})
    )
    warning = ranked(client, bundle, {"commune": "75056"})["warnings"][0]
    assert (warning["code"], warning["detail"]) == (
        "reference_ambiguous",
        "'Organization/o1' is ambiguous: several different entries of the bundle are Organization/o1 (entries 1, 2)",
    )


def test_each_warning_names_its_role_and_each_issue_points_at_it(client: httpx.Client) -> None:
    """Two roles of one organisation without an address: two warnings, one for each role; in the
    Bundle format, each OperationOutcome issue points at the element and at the role."""
    bundle = searchset(
        role("a", "Organization/o"), role("b", "Organization/o"), role("c", "Organization/p"),
        organization("o"), organization("p", at("75056")),
    )  # fmt: skip
    body = ranked(client, bundle, {"commune": "75056"})
    assert [(w["pointer"], w["role"]) for w in body["warnings"]] == [
        ("/bundle/entry/3/resource", {"id": "a", "pointer": "/bundle/entry/0/resource"}),
        ("/bundle/entry/3/resource", {"id": "b", "pointer": "/bundle/entry/1/resource"}),
    ]
    returned = ranked(client, bundle, {"commune": "75056"}, format="bundle")
    assert [e["resource"]["id"] for e in returned["entry"][:-1]] == ["c", "a", "b", "o", "p"]
    issues = returned["entry"][-1]["resource"]["issue"]
    assert [(i["code"], i["expression"], i["details"]["text"][:20]) for i in issues] == [
        ("processing", ["Bundle.entry[3].resource", "Bundle.entry[1].resource"], "PractitionerRole/a: "),
        ("processing", ["Bundle.entry[3].resource", "Bundle.entry[2].resource"], "PractitionerRole/b: "),
    ]


def test_a_limited_bundle_keeps_the_shown_roles_what_they_reference_and_what_is_said_of_them(
    client: httpx.Client,
) -> None:
    bundle = searchset(
        role("far", "Organization/lyon"),
        role("lost", "Organization/nowhere"),
        role("near", "Organization/paris"),
        organization("lyon", at("69123")),
        organization("paris", at("75056")),
        {"resource": {"resourceType": "OperationOutcome", "id": "server-note"}, "search": {"mode": "outcome"}},
    )
    two = ranked(client, bundle, {"commune": "75056"}, format="bundle", limit=2)["entry"]
    # "lost" is left out: so is what was said of it (no outcome of ours), and nothing it referenced was found
    assert [e["resource"]["id"] for e in two] == ["near", "far", "lyon", "paris", "server-note"]
    one = ranked(client, bundle, {"commune": "75056"}, format="bundle", limit=1)["entry"]
    assert [e["resource"]["id"] for e in one] == ["near", "paris", "server-note"]  # lyon went with "far"
    everything = ranked(client, bundle, {"commune": "75056"}, format="bundle")["entry"]
    assert [e["resource"].get("id") for e in everything] == [
        "near",
        "far",
        "lost",
        "lyon",
        "paris",
        "server-note",
        None,
    ]
    issues = everything[-1]["resource"]["issue"]
    assert {i["details"]["text"].split(":")[0] for i in issues} == {"PractitionerRole/lost"}


def test_billing_ended_and_foreign_addresses_are_not_practice_sites_and_work_comes_first(client: httpx.Client) -> None:
    bundle = searchset(
        role("billing-first", "Organization/o1"),
        role("work-last", "Organization/o2"),
        role("ended", "Organization/o3"),
        role("abroad", "Organization/o4"),
        organization("o1", at("69123", use="billing"), at("75056")),
        organization("o2", at("69123"), at("75056", use="work")),
        organization("o3", at("69123", period={"start": "2001-01-01", "end": "2019-12-31"}), at("75056")),
        organization("o4", {"postalCode": "75001", "country": "BE"}, {"postalCode": "75001", "country": "99100"}),
    )
    body = ranked(client, bundle, {"commune": "75056"})
    assert [(r["id"], r["tier"], r["located_by"]) for r in body["ranking"]] == [
        ("billing-first", "same_departement", "/bundle/entry/4/resource/address/1"),
        ("work-last", "same_departement", "/bundle/entry/5/resource/address/1"),
        ("ended", "same_departement", "/bundle/entry/6/resource/address/1"),
        ("abroad", "same_departement", "/bundle/entry/7/resource/address/1"),
    ]
    current = searchset(role("r", "Organization/o"), organization("o", at("69123", period={"end": "2999-12-31"})))
    assert ranked(client, current, {"commune": "69123"})["ranking"][0]["tier"] == "same_departement"


@pytest.mark.parametrize("element", ["address", "extension", "location", "contained", "identifier", "entry"])
def test_a_json_null_list_counts_as_absent(client: httpx.Client, element: str) -> None:
    bundle = searchset(
        role("r", "Organization/o", location=None, contained=None),
        organization("o", {"postalCode": "75001", "extension": None}, identifier=None),
    )
    if element == "address":
        bundle["entry"][1]["resource"]["address"] = None
    if element == "entry":
        response = post(client, {"bundle": {**bundle, "entry": None}})
        assert response.status_code == 422
        assert response.json()["errors"][0]["detail"] == "the bundle holds no PractitionerRole"
        return
    assert ranked(client, bundle, {"commune": "75056"})["ranking"][0]["id"] == "r"


def test_an_organisation_referenced_by_its_idnat_struct_is_found_as_ans_samples_do(client: httpx.Client) -> None:
    """ansforge/annuaire-sante-fhir-documentation, samples/fhir-resources/PP19-organizationalRole_SituExe.json:
    `organization: {identifier: {system: urn:oid:1.2.250.1.71.4.2.2, value: 410005531586003}}`; PM1.json
    writes the INSEE code with the older Interop'Santé extension (valueCode)."""
    cabinet = organization(
        "548812",
        {"extension": [{"url": OLD_INSEE, "valueCode": "27229"}], "city": "27000 EVREUX", "postalCode": "27000"},
        identifier=[{"system": IDNAT_STRUCT, "value": "410005531586003"}],
    )
    by_identifier = {"identifier": {"system": IDNAT_STRUCT, "value": "410005531586003"}}
    unknown = {"identifier": {"system": IDNAT_STRUCT, "value": "1580008803"}}
    bundle = searchset(role("1738459", organization=by_identifier), role("1578230", organization=unknown), cabinet)
    body = ranked(client, bundle, {"commune": "27229"})
    assert [(r["id"], r["tier"], r["located_by"]) for r in body["ranking"]] == [
        ("1738459", "same_departement", "/bundle/entry/2/resource/address/0"),
        ("1578230", "unlocated", None),
    ]
    assert body["ranking"][0]["organization"]["idnat_struct"] == "410005531586003"
    assert [(w["pointer"], w["code"]) for w in body["warnings"]] == [
        ("/bundle/entry/1/resource/organization/identifier", "reference_unresolved"),
        ("/bundle/entry/1/resource", "physician_unlocated"),
    ]
    assert (
        "no Organization of the bundle has the identifier urn:oid:1.2.250.1.71.4.2.2|1580008803"
        in (body["warnings"][0]["detail"])
    )


def test_an_absolute_reference_matches_fullurls_only(client: httpx.Client) -> None:
    bundle = searchset(role("r", f"{BASE}/Organization/o"), organization("o", at("75056")))  # no fullUrl
    body = ranked(client, bundle, {"commune": "75056"})
    assert body["ranking"][0]["tier"] == "unlocated"
    assert "no entry of the bundle has this fullUrl" in body["warnings"][0]["detail"]


def test_many_invalid_resources_get_a_422_listing_the_first_100(client: httpx.Client) -> None:
    entries = [{"resource": {"resourceType": "PractitionerRole", "location": 1}}] * 150
    response = client.post(
        "/v1/rankings/fhir", json={"bundle": {"resourceType": "Bundle", "type": "searchset", "entry": entries}}
    )
    assert response.status_code == 422, response.text
    assert len(response.json()["errors"]) == 100
    assert response.json()["error_count"] >= 150


def test_nan_in_a_geolocation_extension_is_malformed_json_not_a_500(client: httpx.Client) -> None:
    body = (
        b'{"bundle": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {"resourceType": '
        b'"PractitionerRole", "id": "r", "organization": {"reference": "Organization/o"}}}, {"resource": '
        b'{"resourceType": "Organization", "id": "o", "address": [{"extension": [{"url": '
        b'"http://hl7.org/fhir/StructureDefinition/geolocation", "extension": [{"url": "latitude", '
        b'"valueDecimal": NaN}, {"url": "longitude", "valueDecimal": 2.0}]}]}]}}]}}'
    )
    response = client.post("/v1/rankings/fhir", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["type"] == "urn:territorialite:problem:malformed-json"


def test_a_role_with_thousands_of_broken_references_gets_five_warnings(client: httpx.Client) -> None:
    """Each warning is larger than the reference it is about: uncapped, 1 MB of references would
    make a 10 MB answer. Contained resources are looked up by id, not scanned per reference."""
    role = {
        "resourceType": "PractitionerRole",
        "id": "r",
        "contained": [{"resourceType": "Basic", "id": f"c{i}"} for i in range(5_000)],
        "location": [{"reference": f"#b{i}"} for i in range(5_000)],
    }
    body = {"bundle": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": role}]}}
    response = client.post("/v1/rankings/fhir", json=body)
    assert response.status_code == 200, response.text
    warnings = response.json()["warnings"]
    assert len(warnings) == 5
    assert "more warnings on this role, not listed" in warnings[-1]["detail"]


def test_a_body_of_a_million_empty_addresses_is_a_413(client: httpx.Client) -> None:
    """2 MB of `{}` would be 650,000 validated addresses: refused before any is read."""
    organisation = b'{"resource": {"resourceType": "Organization", "id": "o", "address": [' + b"{}," * 650_000
    body = b'{"bundle": {"resourceType": "Bundle", "type": "searchset", "entry": [' + organisation + b"{}]}}]}}"
    response = client.post("/v1/rankings/fhir", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:territorialite:problem:payload-too-large"
    assert "JSON objects" in response.json()["detail"]


def test_an_answer_repeating_a_long_name_for_each_role_quotes_256_characters(client: httpx.Client) -> None:
    """A 1 MB Organization name, in each of 20 ranked roles, was a 20 MB answer, then a 500."""
    entries = [organization("o", name="N" * 1_000_000)] + [role(f"r{i}", "Organization/o") for i in range(20)]
    response = post(client, {"bundle": searchset(*entries)})
    assert response.status_code == 200, response.text[:300]
    assert {r["organization"]["name"] for r in response.json()["ranking"]} == {"N" * 256 + "…"}


def test_an_answer_over_the_service_s_limit_is_a_413_not_a_500(client: httpx.Client) -> None:
    """10,000 roles naming again an Organization and a Practitioner whose name and identifiers are
    256 four-byte characters each: a 45 MB answer, over the 16 MiB the service sends."""
    wide = "\U0001f600" * 256
    practitioner = {"resourceType": "Practitioner", "id": "p", "identifier": [
        {"system": "https://rpps.esante.gouv.fr", "value": wide},
        {"system": "urn:oid:1.2.250.1.71.4.2.1", "value": wide},
    ]}  # fmt: skip
    entries = [organization("o", name=wide), {"resource": practitioner}]
    entries += [role(f"r{i}", "Organization/o", practitioner={"reference": "Practitioner/p"}) for i in range(10_000)]
    response = post(client, {"bundle": searchset(*entries)})
    assert response.status_code == 413, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:territorialite:problem:answer-too-large"
    assert "the answer would hold more than 16,777,216 bytes" in response.json()["detail"]
