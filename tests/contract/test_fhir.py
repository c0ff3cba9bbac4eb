"""POST /v1/rankings/fhir in-process: the bundle -> roster rule, references, input hygiene, answers.
The same cases against a real server are in tests/web/test_fhir_rankings_api.py."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pydantic_core
import pytest
from pydantic import ValidationError

from app.contract.fhir.answers import RANK_EXTENSION, fhirpath
from app.contract.fhir.models import FhirRankingRequest
from app.contract.fhir.names import name_key
from app.contract.fhir.operation import (
    _FAILING_FAST,
    ANSWER_ENVELOPE_BYTES,
    EVERY_ERROR_UP_TO,
    FHIR_JSON,
    FhirAnswer,
    _invalid,
    parse,
    rank_bundle,
)
from app.contract.operations import Reference, rank
from app.contract.problems import ProblemError
from app.geography import Geography
from app.territoriality.rulings import load_catalogue
from tests.fixtures.fhir.build import BASE, INSEE, fixture, insee, organization, role, searchset


def answer(geography: Geography, bundle: dict[str, Any], **request: Any) -> FhirAnswer:
    return rank_bundle(geography, json.dumps({"bundle": bundle, **request}).encode())


def ranked(geography: Geography, bundle: dict[str, Any], patient: dict[str, str]) -> dict[str, Any]:
    return answer(geography, bundle, patient={"location": patient}).body


def refused(geography: Geography, body: Any) -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        rank_bundle(geography, json.dumps(body).encode())
    return caught.value


# ---------------------------------------------------------------- the IG's bundles


def test_a_liberal_physician_is_ranked_at_his_cabinet_with_the_directory_s_identifiers(geography: Geography) -> None:
    body = ranked(geography, fixture("liberal-cabinet"), {"postal_code": "27000"})
    (entry,) = body["ranking"]
    assert entry["id"] == "1738459"
    assert entry["practitioner"] == {"id": "334081", "rpps": "10003461033", "idnat_ps": "810003461033"}
    assert entry["organization"] == {"id": "548812", "name": "CABINET SAINT ANTOINE", "idnat_struct": "410005531586003"}
    assert (entry["tier"], entry["departement"], entry["located_by"]) == (
        "same_departement",
        "27",
        "/bundle/entry/2/resource/address/0",
    )


def test_a_salaried_physician_is_ranked_at_his_hospital(geography: Geography) -> None:
    """PP19DR-Organization-EG-CH: INSEE code 75114 (Paris 14e), city written '75014 PARIS'."""
    body = ranked(geography, fixture("salaried-hospital"), {"commune": "75115"})
    (entry,) = body["ranking"]
    assert (entry["id"], entry["organization"]["name"], entry["tier"]) == (
        "1578230",
        "CH EURE-SEINE",
        "same_departement",
    )
    assert entry["distance_km"] == pytest.approx(2.1, abs=0.05)  # Paris 14e to Paris 15e: the arrondissement's point
    assert body["warnings"] == []


def test_several_roles_in_several_departements_each_rank_on_their_own(geography: Geography) -> None:
    body = ranked(geography, fixture("several-roles"), {"commune": "75115"})
    assert [(r["id"], r["tier"], r["departement"]) for r in body["ranking"]] == [
        ("1578230", "same_departement", "75"),
        ("1738459", "outside_territory", "27"),
        ("pp19-role-bourges", "outside_territory", "18"),
        ("pp19-role-nancy", "outside_territory", "54"),
    ]
    assert {r["practitioner"]["rpps"] for r in body["ranking"]} == {"10003461033"}


def test_the_practitioner_s_correspondence_address_is_not_a_practice_site(geography: Geography) -> None:
    """PP19DR-Practitioner gives an address in Clamart (92023), adjacent to Paris: never used."""
    body = ranked(geography, fixture("several-roles"), {"commune": "92023"})
    assert {r["tier"] for r in body["ranking"]} <= {"adjacent_departement", "outside_territory", "same_region"}
    assert all("/resource/address" in r["located_by"] and "entry/4/" not in r["located_by"] for r in body["ranking"])


def test_an_insee_code_the_geography_does_not_know_falls_back_to_the_postal_code(geography: Geography) -> None:
    """AsOrganizationExampleFictive carries '18000' (Bourges's postal code) as its INSEE code."""
    body = ranked(geography, fixture("several-roles"), {"commune": "18033"})
    bourges = next(r for r in body["ranking"] if r["id"] == "pp19-role-bourges")
    assert (bourges["rank"], bourges["tier"], bourges["distance_km"]) == (1, "same_departement", 0.0)
    assert body["warnings"] == [
        {
            "pointer": "/bundle/entry/8/resource/address/0/extension/0/valueCoding/code",
            "code": "unknown_insee_code",
            "detail": "not an INSEE commune code of the reference geography; the role is located by its postal code",
            "role": {"id": "pp19-role-bourges", "pointer": "/bundle/entry/3/resource"},
        }
    ]


def test_the_insee_code_decides_when_the_postal_code_is_a_cedex(geography: Geography) -> None:
    """AsOrganizationExampleNancy: INSEE 54547, CEDEX postal code 54511, `district` '52' (wrong, unread)."""
    body = ranked(geography, fixture("several-roles"), {"commune": "54547"})
    nancy = body["ranking"][0]
    assert (nancy["id"], nancy["tier"], nancy["departement"], nancy["distance_km"]) == (
        "pp19-role-nancy",
        "same_departement",
        "54",
        0.0,
    )


def test_an_organisation_with_only_a_postal_code_and_a_city(geography: Geography) -> None:
    """58000 serves Challuy, Nevers, Saint-Éloi and Sermoise-sur-Loire: 'ST ELOI' names one."""
    body = ranked(geography, fixture("postal-code-only"), {"commune": "58238"})
    cabinet = body["ranking"][0]
    assert (cabinet["id"], cabinet["tier"], cabinet["distance_km"]) == ("1738459", "same_departement", 0.0)
    assert body["warnings"] == []


def test_an_organisation_with_no_address_ranks_its_roles_last_as_unlocated(geography: Geography) -> None:
    """PP16DR-Organization (PHARMACIE NOLOT) and PP19DR-Organization-EJ-Cab have no address in the IG."""
    body = ranked(geography, fixture("no-address"), {"commune": "75115"})
    assert [(r["id"], r["tier"], r["located_by"]) for r in body["ranking"]] == [
        ("1578230", "same_departement", "/bundle/entry/7/resource/address/0"),
        ("5015602", "unlocated", None),
        ("1738459", "unlocated", None),
    ]
    assert [(w["pointer"], w["code"]) for w in body["warnings"]] == [
        ("/bundle/entry/4/resource", "physician_unlocated"),
        ("/bundle/entry/6/resource", "physician_unlocated"),
    ]


def test_an_rpps_number_that_fails_the_luhn_check_is_kept(geography: Geography) -> None:
    """The IG's own RPPS numbers fail a Luhn check: they are reported as given."""

    def luhn_valid(number: str) -> bool:
        digits = [int(d) for d in reversed(number)]
        return sum(d if i % 2 == 0 else (2 * d if d < 5 else 2 * d - 9) for i, d in enumerate(digits)) % 10 == 0

    assert not luhn_valid("10003461033")
    assert not luhn_valid("10102727017")
    body = ranked(geography, fixture("no-address"), {"commune": "75115"})
    assert {r["practitioner"]["rpps"] for r in body["ranking"]} == {"10003461033", "10102727017"}


def test_the_ig_dp_examples_reference_ids_they_do_not_carry(geography: Geography) -> None:
    """The DP examples have ids with a 'DP' suffix (334081DP) and references without (Practitioner/334081):
    as published, their references point nowhere, and say so."""
    bundle = fixture("liberal-cabinet")
    for entry in bundle["entry"]:
        entry["resource"]["id"] += "DP"
        entry["fullUrl"] += "DP"
    body = ranked(geography, bundle, {"postal_code": "27000"})
    assert body["ranking"][0]["practitioner"] is None
    assert body["ranking"][0]["tier"] == "unlocated"
    assert [(w["pointer"], w["code"]) for w in body["warnings"]] == [
        ("/bundle/entry/0/resource/practitioner/reference", "reference_unresolved"),
        ("/bundle/entry/0/resource/organization/reference", "reference_unresolved"),
        ("/bundle/entry/0/resource", "physician_unlocated"),
    ]


# ---------------------------------------------------------------- one engine


def test_a_bundle_ranks_exactly_as_the_same_roster_through_post_rankings(geography: Geography) -> None:
    codes = ["13055", "84007", "06088", "2A004", "75056", "13201", "99999", "83137", "13001"]
    physicians = [{"id": f"r{i}", "location": {"commune": code}} for i, code in enumerate(codes)]
    plain, _ = rank(
        Reference(geography, load_catalogue()),
        json.dumps({"patient": {"location": {"postal_code": "13001"}}, "physicians": physicians}).encode(),
    )
    entries = [role(f"r{i}", f"Organization/o{i}") for i in range(len(codes))]
    entries += [organization(f"o{i}", {"extension": [insee(code)]}) for i, code in enumerate(codes)]
    fhir = ranked(geography, searchset(*entries), {"postal_code": "13001"})
    assert isinstance(plain["ranking"], list)
    keys = ("id", "rank", "tier", "territorial", "distance_km", "departement")
    assert [{k: r[k] for k in keys} for r in fhir["ranking"]] == [{k: r[k] for k in keys} for r in plain["ranking"]]


# ---------------------------------------------------------------- references


def test_references_resolve_as_fhir_says(geography: Geography) -> None:
    located = {"extension": [insee("75056")]}
    bundle = searchset(
        {"fullUrl": f"{BASE}/PractitionerRole/a", **role("a", "Organization/x")},  # against the RESTful base
        role("b", f"{BASE}/Organization/x"),  # absolute
        role("c", "urn:uuid:7f0c5a8e-0c4e-4b8e-9a0e-1a2b3c4d5e6f"),  # a uuid fullUrl
        role("d", "Organization/y"),  # no fullUrl anywhere: type and id
        role(
            "e",
            "#own",
            contained=[{"resourceType": "Organization", "id": "own", "address": [located]}],
        ),
        role("f", "Organization/x/_history/3"),  # the version is not checked
        organization("x", located, full_url=f"{BASE}/Organization/x"),
        organization("u", located, full_url="urn:uuid:7f0c5a8e-0c4e-4b8e-9a0e-1a2b3c4d5e6f"),
        organization("y", located),
    )
    body = ranked(geography, bundle, {"commune": "75056"})
    assert [(r["id"], r["organization"]["id"]) for r in body["ranking"]] == [
        ("a", "x"),
        ("b", "x"),
        ("c", "u"),
        ("d", "y"),
        ("e", "own"),
        ("f", "x"),
    ]
    assert body["ranking"][4]["located_by"] == "/bundle/entry/4/resource/contained/0/address/0"
    assert body["warnings"] == []


@pytest.mark.parametrize(
    ("reference", "detail"),
    [
        (
            "Organization/nowhere",
            "'Organization/nowhere' points nowhere: no entry of the bundle is Organization/nowhere",
        ),
        ("#missing", "'#missing' points nowhere: no contained resource has this id"),
        ("https://elsewhere.example/Organization/1", "points nowhere: no entry of the bundle has this fullUrl"),
        ("Practitioner/p", "'Practitioner/p' points nowhere: it names a Practitioner, not a Organization"),
    ],
)
def test_a_reference_that_points_nowhere_is_a_warning(geography: Geography, reference: str, detail: str) -> None:
    bundle = searchset(role("a", reference), {"resource": {"resourceType": "Practitioner", "id": "p"}})
    body = ranked(geography, bundle, {"commune": "75056"})
    assert body["ranking"][0]["tier"] == "unlocated"
    warning = body["warnings"][0]
    assert (warning["pointer"], warning["code"]) == (
        "/bundle/entry/0/resource/organization/reference",
        "reference_unresolved",
    )
    assert detail in warning["detail"]


# ---------------------------------------------------------------- the location rule


def test_a_location_comes_before_the_organisation_and_its_position_is_the_point(geography: Geography) -> None:
    bundle = searchset(
        role("a", "Organization/o", location=[{"reference": "Location/l"}]),
        organization("o", {"extension": [insee("13055")]}),
        {
            "resource": {
                "resourceType": "Location",
                "id": "l",
                "address": {"postalCode": "06000"},
                "position": {"latitude": 43.7, "longitude": 7.27},
            }
        },
    )
    body = ranked(geography, bundle, {"commune": "06088"})
    assert (body["ranking"][0]["departement"], body["ranking"][0]["located_by"]) == (
        "06",
        "/bundle/entry/2/resource/address",
    )
    assert body["ranking"][0]["distance_km"] < 2


def test_coordinates_alone_locate_a_role(geography: Geography) -> None:
    geolocation = {
        "url": "http://hl7.org/fhir/StructureDefinition/geolocation",
        "extension": [{"url": "latitude", "valueDecimal": 45.76}, {"url": "longitude", "valueDecimal": 4.83}],
    }
    bundle = searchset(role("a", "Organization/o"), organization("o", {"extension": [geolocation]}))
    assert ranked(geography, bundle, {"commune": "69123"})["ranking"][0]["tier"] == "same_departement"


def test_old_and_postal_addresses_are_skipped(geography: Geography) -> None:
    bundle = searchset(
        role("a", "Organization/o"),
        organization(
            "o",
            {"use": "old", "extension": [insee("75056")]},
            {"type": "postal", "postalCode": "75001"},
            {"extension": [insee("13055")]},
        ),
    )
    body = ranked(geography, bundle, {"commune": "13055"})
    assert (body["ranking"][0]["tier"], body["ranking"][0]["located_by"]) == (
        "same_departement",
        "/bundle/entry/1/resource/address/2",
    )


def test_a_shared_postal_code_without_a_matching_city_is_decided_by_the_postal_code(geography: Geography) -> None:
    bundle = searchset(role("a", "Organization/o"), organization("o", {"postalCode": "58000", "city": "PARIS"}))
    body = ranked(geography, bundle, {"commune": "58194"})
    assert body["ranking"][0]["tier"] == "same_departement"
    (warning,) = body["warnings"]
    assert (warning["pointer"], warning["code"]) == ("/bundle/entry/1/resource/address/0/city", "ambiguous_postal_code")


def test_a_known_postal_code_that_disagrees_with_the_insee_code_is_flagged(geography: Geography) -> None:
    bundle = searchset(
        role("a", "Organization/o"), organization("o", {"postalCode": "13001", "extension": [insee("75056")]})
    )
    body = ranked(geography, bundle, {"commune": "75056"})
    assert body["ranking"][0]["tier"] == "same_departement"
    assert [(w["pointer"], w["code"]) for w in body["warnings"]] == [
        ("/bundle/entry/1/resource/address/0/postalCode", "inconsistent_location")
    ]


def test_only_unknown_codes_leave_the_role_unlocated_as_the_engine_says(geography: Geography) -> None:
    bundle = searchset(role("a", "Organization/o"), organization("o", {"postalCode": "99999"}))
    body = ranked(geography, bundle, {"commune": "75056"})
    assert body["ranking"][0]["tier"] == "unlocated"
    (warning,) = body["warnings"]
    assert (warning["pointer"], warning["code"]) == (
        "/bundle/entry/1/resource/address/0/postalCode",
        "physician_unlocated",
    )


@pytest.mark.parametrize(
    ("directory", "cog"),
    [
        ("75014 PARIS", "Paris"),
        ("VANDOEUVRE LES NANCY CEDEX", "Vandœuvre-lès-Nancy"),
        ("ST ELOI", "Saint-Éloi"),
        ("STE MARIE", "Sainte-Marie"),
        ("L ISLE SUR LA SORGUE", "L'Isle-sur-la-Sorgue"),
        ("marseille cedex 20", "Marseille"),
    ],
)
def test_city_names_compare_as_the_directory_and_the_cog_write_them(directory: str, cog: str) -> None:
    assert name_key(directory) == name_key(cog)


def test_different_names_stay_different() -> None:
    assert name_key("SAINT DENIS") != name_key("Saint-Denis-de-Pile")


# ---------------------------------------------------------------- input hygiene


def test_unknown_elements_and_unread_extensions_are_ignored(geography: Geography) -> None:
    bundle = fixture("salaried-hospital")
    bundle["futureElement"] = {"anything": [1, 2]}
    organization_entry = bundle["entry"][2]["resource"]
    organization_entry["address"][0]["extension"].append(
        {"url": "https://example.org/other", "valueCoding": "not a Coding"}
    )
    organization_entry["_name"] = {"extension": []}
    body = ranked(geography, bundle, {"commune": "75114"})
    assert body["ranking"][0]["tier"] == "same_departement"


@pytest.mark.parametrize(
    ("mutate", "at"),
    [
        (
            lambda b: b["entry"][2]["resource"]["address"][0].update(postalCode=75014),
            "/bundle/entry/2/resource/address/0/postalCode",
        ),
        (
            lambda b: b["entry"][0]["resource"].update(organization="Organization/158480"),
            "/bundle/entry/0/resource/organization",
        ),
        (lambda b: b["entry"][2]["resource"].update(address={"city": "PARIS"}), "/bundle/entry/2/resource/address"),
        (lambda b: b["entry"][0]["resource"].update(id="not an id!"), "/bundle/entry/0/resource/id"),
        (lambda b: b["entry"][1].update(resource={"id": "x"}), "/bundle/entry/1/resource/resourceType"),
        (lambda b: b.update(type="collection"), "/bundle/type"),
        (
            lambda b: b["entry"][2]["resource"]["address"][0]["extension"][0]["valueCoding"].update(code=75114),
            "/bundle/entry/2/resource/address/0/extension/0/valueCoding/code",
        ),
    ],
)
def test_an_element_read_with_the_wrong_type_is_a_422_naming_it(geography: Geography, mutate: Any, at: str) -> None:
    bundle = fixture("salaried-hospital")
    mutate(bundle)
    problem = refused(geography, {"bundle": bundle})
    assert (problem.status, [e.pointer for e in problem.errors]) == (422, [at])


@pytest.mark.parametrize(
    ("resource", "at"),
    [
        ({"resourceType": "Practitioner", "identifier": [0]}, ["/identifier/0"]),
        ({"resourceType": "Organization", "meta": 5, "identifier": [0, 0]},
         ["/meta", "/identifier/0", "/identifier/1"]),
        ({"identifier": [0]}, ["/resourceType"]),
        ({"resourceType": 5}, ["/resourceType"]),
        (5, [""]),
        ({"resourceType": "PractitionerRole", "contained": [{}, {"resourceType": "Organization", "name": 5}, 3]},
         ["/contained/0/resourceType", "/contained/1/name", "/contained/2"]),
    ],
)  # fmt: skip
def test_each_mistake_is_counted_once(geography: Geography, resource: Any, at: list[str]) -> None:
    """A resource is validated by one model, its type's or the fallback's: each mistake one error,
    the count saying as many as are listed (a union trying both said some twice or three times)."""
    problem = refused(
        geography, {"bundle": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": resource}]}}
    )
    assert [e.pointer for e in problem.errors] == [f"/bundle/entry/0/resource{pointer}" for pointer in at]
    assert problem.detail == f"{len(at)} invalid field(s)"
    assert problem.error_count == len(at)


def test_a_member_named_as_a_resource_type_keeps_its_name_in_the_pointer(geography: Geography) -> None:
    problem = refused(geography, {"Practitioner": 1, "bundle": searchset(role("r1"))})
    assert [(e.pointer, e.detail) for e in problem.errors] == [("/Practitioner", "unknown field")]


def test_coordinates_out_of_range_are_refused(geography: Geography) -> None:
    geolocation = {
        "url": "http://hl7.org/fhir/StructureDefinition/geolocation",
        "extension": [{"url": "latitude", "valueDecimal": 91}, {"url": "longitude", "valueDecimal": 4.83}],
    }
    problem = refused(
        geography, {"bundle": searchset(role("a", "Organization/o"), organization("o", {"extension": [geolocation]}))}
    )
    assert [e.pointer for e in problem.errors] == ["/bundle/entry/1/resource/address/0/extension/0/extension/0"]


GEOLOCATION = "http://hl7.org/fhir/StructureDefinition/geolocation"
NO_OBJECT = "Input should be a valid dictionary or instance of"  # pydantic's words for a model, as answered


@pytest.mark.parametrize("wrong", ["49.1", True])
def test_a_coordinate_is_a_json_number_nothing_else(geography: Geography, wrong: object) -> None:
    """Strict as they were (a lax float takes "49.1" and true): a position's, a geolocation's."""
    location = {"resourceType": "Location", "id": "l", "position": {"latitude": wrong, "longitude": 4.83}}
    problem = refused(
        geography, {"bundle": searchset(role("a", location=[{"reference": "Location/l"}]), {"resource": location})}
    )
    assert [e.pointer for e in problem.errors] == ["/bundle/entry/1/resource/position/latitude"]
    geolocation = {"url": GEOLOCATION, "extension": [{"url": "latitude", "valueDecimal": wrong},
                                                     {"url": "longitude", "valueDecimal": 4.83}]}  # fmt: skip
    problem = refused(
        geography, {"bundle": searchset(role("a", "Organization/o"), organization("o", {"extension": [geolocation]}))}
    )
    assert [e.pointer for e in problem.errors] == [
        "/bundle/entry/1/resource/address/0/extension/0/extension/0/valueDecimal"
    ]


@pytest.mark.parametrize(
    ("extension", "at", "detail"),
    [
        ({"url": INSEE, "valueCoding": "54395"}, "/valueCoding", f"{NO_OBJECT} InseeCoding"),
        ({"url": GEOLOCATION, "extension": [1]}, "/extension/0", f"{NO_OBJECT} Coordinate"),
    ],
)  # fmt: skip
def test_an_extension_value_that_is_no_object_is_refused_in_the_words_it_always_had(
    geography: Geography, extension: dict[str, object], at: str, detail: str
) -> None:
    problem = refused(
        geography, {"bundle": searchset(role("a", "Organization/o"), organization("o", {"extension": [extension]}))}
    )
    assert [(e.pointer, e.detail) for e in problem.errors] == [
        (f"/bundle/entry/1/resource/address/0/extension/0{at}", detail)
    ]


def test_a_bundle_without_roles_too_many_roles_or_duplicates_is_refused(geography: Geography) -> None:
    assert [e.pointer for e in refused(geography, {"bundle": searchset()}).errors] == ["/bundle/entry"]
    many = searchset(*(role(f"r{i}") for i in range(10_001)))
    assert "at most 10000 PractitionerRole" in refused(geography, {"bundle": many}).errors[0].detail
    twice = searchset({"fullUrl": "urn:uuid:1", **role("a")}, {"fullUrl": "urn:uuid:1", **role("b")})
    assert [e.pointer for e in refused(geography, {"bundle": twice}).errors] == ["/bundle/entry/1/fullUrl"]


def test_our_own_fields_stay_strict(geography: Geography) -> None:
    problem = refused(geography, {"bundle": fixture("liberal-cabinet"), "format": "xml", "extra": 1})
    assert sorted(e.pointer for e in problem.errors) == ["/extra", "/format"]
    assert (
        refused(geography, {"bundle": fixture("liberal-cabinet"), "patient": {"location": {"commune": "99999"}}})
        .errors[0]
        .pointer
        == "/patient/location/commune"
    )


def test_malformed_json_is_a_400(geography: Geography) -> None:
    with pytest.raises(ProblemError) as caught:
        rank_bundle(geography, b'{"bundle": ')
    assert caught.value.status == 400


# ---------------------------------------------------------------- the bundle format


def test_the_bundle_format_returns_the_same_resources_re_ordered_and_scored(geography: Geography) -> None:
    sent = fixture("no-address")
    result = answer(geography, copy.deepcopy(sent), patient={"location": {"commune": "75115"}}, format="bundle")
    assert result.media_type == FHIR_JSON
    returned = result.body
    assert {k: v for k, v in returned.items() if k != "entry"} == {k: v for k, v in sent.items() if k != "entry"}
    *resources, outcome = returned["entry"]
    assert sorted(json.dumps(e["resource"], sort_keys=True) for e in resources) == sorted(
        json.dumps(e["resource"], sort_keys=True) for e in sent["entry"]
    )
    assert [e["resource"]["id"] for e in resources[:3]] == ["1578230", "5015602", "1738459"]
    assert [e["search"]["score"] for e in resources[:3]] == [1.0, 0.666667, 0.333333]
    assert [e["search"]["mode"] for e in resources] == ["match"] * 3 + ["include"] * 5
    extension = resources[0]["search"]["extension"][0]
    assert extension["url"] == RANK_EXTENSION
    assert {part["url"]: next(v for k, v in part.items() if k != "url") for part in extension["extension"]} == {
        "rank": 1,
        "tier": "same_departement",
        "territorial": True,
        "distance": {"value": 2.1, "unit": "km", "system": "http://unitsofmeasure.org", "code": "km"},
        "departement": "75",
        "policy": {"system": "urn:territorialite:policy", "version": "1", "code": "departement"},
    }
    assert outcome["search"] == {"mode": "outcome"}
    issues = outcome["resource"]["issue"]
    assert [(i["code"], i["expression"]) for i in issues] == [
        ("processing", ["Bundle.entry[4].resource", "Bundle.entry[1].resource"]),
        ("processing", ["Bundle.entry[6].resource", "Bundle.entry[2].resource"]),
    ]
    assert returned["entry"][4]["resource"]["name"] == "PHARMACIE NOLOT"


def test_the_bundle_format_keeps_only_the_first_roles_when_limited(geography: Geography) -> None:
    bundle = searchset(
        role("lost", "Organization/nowhere"), role("kept", "Organization/o"), organization("o", {"postalCode": "75001"})
    )
    body = answer(geography, bundle, patient={"location": {"commune": "75056"}}, format="bundle", limit=1).body
    assert [e["resource"]["id"] for e in body["entry"]] == ["kept", "o"]  # nothing said of "lost": no outcome


def test_without_a_patient_location_the_bundle_keeps_its_order_and_carries_the_etht01_text(
    geography: Geography,
) -> None:
    body = answer(geography, fixture("several-roles"), format="bundle").body
    roles = [e["resource"]["id"] for e in body["entry"] if e["resource"]["resourceType"] == "PractitionerRole"]
    assert roles == ["1738459", "1578230", "pp19-role-nancy", "pp19-role-bourges"]
    issue = body["entry"][-1]["resource"]["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "patient_location_missing"
    assert issue["details"]["text"].startswith("Votre localisation vous est demandée")


def test_fhirpath_of_a_pointer() -> None:
    assert fhirpath(("bundle", "entry", 7, "resource", "contained", 0, "address", 1, "city"), 2) == (
        "Bundle.entry[2].resource.contained[0].address[1].city"
    )


def test_the_http_spelling_of_fr_core_s_insee_extension_is_read(geography: Geography) -> None:
    old_spelling = {"url": INSEE.replace("https://", "http://"), "valueCoding": {"code": "13055"}}
    bundle = searchset(role("a", "Organization/o"), organization("o", {"extension": [old_spelling]}))
    assert ranked(geography, bundle, {"commune": "13055"})["ranking"][0]["departement"] == "13"


def test_openapi_states_the_code_s_limits() -> None:
    import yaml

    from app.contract.limits import MAX_FHIR_ENTRIES, MAX_PHYSICIANS

    schemas = yaml.safe_load((Path(__file__).parents[2] / "openapi.yaml").read_text(encoding="utf-8"))["components"][
        "schemas"
    ]
    assert schemas["FhirSearchsetBundle"]["properties"]["entry"]["maxItems"] == MAX_FHIR_ENTRIES
    assert schemas["FhirRankingRequest"]["properties"]["limit"]["anyOf"][0]["maximum"] == MAX_PHYSICIANS
    codes = set(schemas["FhirWarning"]["properties"]["code"]["enum"])
    assert codes == {
        "physician_unlocated",
        "physician_outside_france",
        "inconsistent_location",
        "old_commune_code",
        "several_departements",
        "reference_unresolved",
        "reference_ambiguous",
        "unknown_insee_code",
        "unknown_postal_code",
        "ambiguous_postal_code",
    }


def test_a_type_and_id_held_by_two_entries_is_ambiguous(geography: Geography) -> None:
    """Two servers may hold Organization/o (different fullUrls): a bare 'Organization/o' names neither."""
    bundle = searchset(
        role("a", "Organization/o"),
        organization("o", {"postalCode": "75001"}, full_url="https://one.example/fhir/Organization/o"),
        organization("o", {"postalCode": "13001"}, full_url="https://two.example/fhir/Organization/o"),
    )
    warning = ranked(geography, bundle, {"commune": "75056"})["warnings"][0]
    assert (warning["code"], warning["detail"]) == (
        "reference_ambiguous",
        "'Organization/o' is ambiguous: several different entries of the bundle are Organization/o (entries 1, 2)",
    )


def test_a_search_element_that_is_not_an_object_is_replaced_in_the_bundle_format(geography: Geography) -> None:
    bundle = fixture("salaried-hospital")
    bundle["entry"][0]["search"] = "match"
    body = answer(geography, bundle, patient={"location": {"commune": "75114"}}, format="bundle").body
    assert body["entry"][0]["search"]["score"] == 1.0
    assert body["entry"][0]["search"]["extension"][0]["url"] == RANK_EXTENSION


@pytest.mark.parametrize(
    ("country", "read"),
    [(None, True), ("99100", True), ("France", True), (" fr ", True), ("FRA", True), ("GP", True), ("REU", True),
     ("BE", False), ("Belgique", False), ("99131", False), ("", False)],
)  # fmt: skip
def test_only_addresses_in_france_are_practice_sites(geography: Geography, country: str | None, read: bool) -> None:
    """99100 is France's INSEE code, as the IG examples write it (PP16DR/PP19DR-Practitioner); 99131 is Belgium's."""
    bundle = searchset(role("a", "Organization/o"), organization("o", {"postalCode": "75001", "country": country}))
    tier = ranked(geography, bundle, {"commune": "75056"})["ranking"][0]["tier"]
    assert tier == ("same_departement" if read else "unlocated")


@pytest.mark.parametrize(
    ("end", "read"),
    [("2019", False), ("2019-12", False), ("2019-12-31", False), ("2019-12-31T23:59:59+01:00", False),
     ("2999", True), ("2999-01-01T00:00:00Z", True), (None, True)],
)  # fmt: skip
def test_an_address_whose_period_ended_is_skipped(geography: Geography, end: str | None, read: bool) -> None:
    address = {"postalCode": "75001", "period": {"start": "2001", "end": end}}
    bundle = searchset(role("a", "Organization/o"), organization("o", address))
    assert ranked(geography, bundle, {"commune": "75056"})["ranking"][0]["tier"] == (
        "same_departement" if read else "unlocated"
    )


def test_an_address_that_ends_today_is_still_read(geography: Geography) -> None:
    from datetime import UTC, datetime

    today = datetime.now(UTC).date().isoformat()
    bundle = searchset(
        role("a", "Organization/o"), organization("o", {"postalCode": "75001", "period": {"end": today}})
    )
    assert ranked(geography, bundle, {"commune": "75056"})["ranking"][0]["tier"] == "same_departement"


def test_a_malformed_period_end_is_a_422(geography: Geography) -> None:
    bundle = searchset(
        role("a", "Organization/o"), organization("o", {"postalCode": "75001", "period": {"end": "31/12"}})
    )
    assert [e.pointer for e in refused(geography, {"bundle": bundle}).errors] == [
        "/bundle/entry/1/resource/address/0/period/end"
    ]


def test_a_versioned_reference_to_an_entry_without_version_takes_it(geography: Geography) -> None:
    bundle = searchset(role("a", "Organization/o/_history/7"), organization("o", {"postalCode": "75001"}))
    assert ranked(geography, bundle, {"commune": "75056"})["warnings"] == []


def test_an_invalid_resource_of_a_type_read_is_named_once(geography: Geography) -> None:
    """A resource goes through a union (its own model, else the fallback for types not read): the
    fallback's view of a read type is not reported, nor the branch names."""
    bundle = fixture("salaried-hospital")
    bundle["entry"][0]["resource"]["contained"] = [{"resourceType": "Organization", "id": "c", "address": {}}]
    bundle["entry"][1]["resource"]["id"] = "bad id"
    problem = refused(geography, {"bundle": bundle})
    assert sorted(e.pointer for e in problem.errors) == [
        "/bundle/entry/0/resource/contained/0/address",
        "/bundle/entry/1/resource/id",
    ]


def test_openapi_states_the_body_limit_and_its_setting() -> None:
    import yaml

    spec = yaml.safe_load((Path(__file__).parents[2] / "openapi.yaml").read_text(encoding="utf-8"))
    description = " ".join(spec["paths"]["/v1/rankings/fhir"]["post"]["description"].split())
    assert "TERRITORIALITE_MAX_BODY_BYTES" in description
    assert "3.9 to 7.0 KB a role once compacted" in description
    assert "2 MiB holds about 300 to 530 roles" in description
    per_role = []
    for name in ("liberal-cabinet", "salaried-hospital", "several-roles", "postal-code-only", "no-address"):
        bundle = fixture(name)
        roles = sum(e["resource"]["resourceType"] == "PractitionerRole" for e in bundle["entry"])
        per_role.append(len(json.dumps(bundle, separators=(",", ":"), ensure_ascii=False).encode()) / roles)
    assert (round(min(per_role) / 1000, 1), round(max(per_role) / 1000, 1)) == (3.9, 7.0)
    assert (2 * 2**20 // max(per_role) // 10 * 10, 2 * 2**20 // min(per_role) // 10 * 10) == (300, 530)


def test_a_warning_about_many_entries_names_five_and_counts_the_rest(geography: Geography) -> None:
    """A bundle may hold thousands of different "Organization/x": a warning stays short, and each
    reference is looked up, not scanned against them all."""
    many = [organization("x", {"postalCode": f"{75001 + k}"}) for k in range(30)]
    versions = [
        organization("y", {"postalCode": "75001"}, full_url=f"{BASE}/Organization/y", meta={"versionId": str(k)})
        for k in range(12)
    ]
    bundle = searchset(
        role("a", "Organization/x"),
        {"fullUrl": f"{BASE}/PractitionerRole/b", **role("b", "Organization/y")},
        {"fullUrl": f"{BASE}/PractitionerRole/c", **role("c", "Organization/y/_history/11")},
        *many,
        *versions,
    )
    body = ranked(geography, bundle, {"commune": "75056"})
    details = [w["detail"] for w in body["warnings"] if w["code"] == "reference_ambiguous"]
    assert details == [
        "'Organization/x' is ambiguous: several different entries of the bundle are Organization/x "
        "(entries 3, 4, 5, 6, 7 and 25 more)",
        "'Organization/y' is ambiguous: several versions of Organization/y are in the bundle (entries 33, 34, 35, 36, "
        "37 and 7 more, meta.versionId 0, 1, 2, 3, 4): a versioned reference (Organization/y/_history/N) would "
        "single one out",
    ]
    assert [(r["id"], r["located_by"]) for r in body["ranking"] if r["id"] == "c"] == [
        ("c", "/bundle/entry/44/resource/address/0")
    ]


def test_no_value_of_a_bundle_outlives_its_request_in_a_string_cache(geography: Geography) -> None:
    """pydantic keeps the strings it reads in a process-wide cache unless told to keep only keys:
    two requests would then share one string object for the same value (a name, an id)."""
    body = {"bundle": fixture("no-address"), "patient": {"location": {"commune": "75115"}}}
    ranking, again = (answer(geography, copy.deepcopy(body["bundle"]), patient=body["patient"]).body for _ in range(2))
    assert ranking["ranking"][0]["organization"]["name"] == "CH EURE-SEINE"
    assert ranking["ranking"][0]["organization"]["name"] is not again["ranking"][0]["organization"]["name"]
    bundle, again = (
        answer(geography, copy.deepcopy(body["bundle"]), patient=body["patient"], format="bundle").body
        for _ in range(2)
    )
    assert bundle["entry"][4]["resource"]["name"] == "PHARMACIE NOLOT"
    assert bundle["entry"][4]["resource"]["name"] is not again["entry"][4]["resource"]["name"]


# ---------------------------------------------------------------- bounded errors


def test_a_valid_bundle_validates_alike_with_lists_failing_fast() -> None:
    """The validator whose lists stop at their first wrong item gives a valid body the same request,
    each model of the same class, as pydantic's own validator (the IG's bundles and a built one)."""
    codes = ["13055", "84007", "06088", "2A004", "75056"]
    entries = [role(f"r{i}", f"Organization/o{i}") for i in range(len(codes))]
    entries += [organization(f"o{i}", {"extension": [insee(code)]}) for i, code in enumerate(codes)]
    names = ["liberal-cabinet", "salaried-hospital", "several-roles", "postal-code-only", "no-address"]
    bundles = [searchset(*entries), *(fixture(name) for name in names)]
    for bundle in bundles:
        body = json.dumps({"patient": {"location": {"postal_code": "13001"}}, "bundle": bundle}).encode()
        fast, whole = _FAILING_FAST.validate_json(body), FhirRankingRequest.model_validate_json(body)
        assert fast == whole
        assert [type(e.resource) for e in fast.bundle.entry or []] == [
            type(e.resource) for e in whole.bundle.entry or []
        ]
    assert all(model.__dict__["__pydantic_complete__"] for model in (FhirRankingRequest, type(whole.bundle)))


def wrong_identifiers(count: int) -> dict[str, Any]:
    organisation = {"resourceType": "Organization", "identifier": [0] * count}
    return {"bundle": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": organisation}]}}


def test_a_big_body_is_answered_with_each_list_read_up_to_its_first_wrong_item(geography: Geography) -> None:
    """A million wrong identifiers (2 MB): each would be an error, 1.2 GB of them before any answer."""
    problem = refused(geography, wrong_identifiers(1_000_000))
    assert problem.status == 422
    assert problem.errors[0].pointer == "/bundle/entry/0/resource/identifier/0"
    assert problem.error_count < 10
    assert "each list read up to its first wrong item (the body is over 16 KiB)" in problem.detail


def test_a_small_body_has_all_its_errors_counted(geography: Geography) -> None:
    problem = refused(geography, wrong_identifiers(1_000))
    assert [e.pointer for e in problem.errors[:3]] == [f"/bundle/entry/0/resource/identifier/{i}" for i in range(3)]
    assert problem.error_count >= 1_000
    assert "first wrong item" not in problem.detail


def test_unknown_top_level_members_past_the_first_hundred_are_counted(geography: Geography) -> None:
    body = {**wrong_identifiers(1), **{f"k{i}": 0 for i in range(20_000)}}
    problem = refused(geography, body)
    listed = [e for e in problem.errors if e.detail == "unknown field"]
    assert [e.pointer for e in listed[:2]] == ["/k0", "/k1"]
    assert problem.error_count >= 20_000


def test_unknown_members_of_the_patient_s_location_past_the_first_hundred_are_counted(geography: Geography) -> None:
    """200,000 unknown members of the patient's location (2 MB): each an error of about 0.5 KB."""
    location = {"postal_code": "13001", **{f"k{i}": 0 for i in range(200_000)}}
    body = json.dumps({"patient": {"location": location}, **wrong_identifiers(1)}).encode()
    problem = refused(geography, json.loads(body))
    listed = [e.pointer for e in problem.errors if e.detail == "unknown field"]
    assert listed[:2] == ["/patient/location/k0", "/patient/location/k1"]
    assert problem.body() == refusal_from_the_text(body)  # every one counted, the same first listed


@pytest.mark.parametrize("body", [b" " * 17_000 + b"1000", b" " * 17_000 + b"[1, 2]", b" " * 17_000 + b'"text"'])
def test_a_big_body_that_is_not_an_object_is_a_422(geography: Geography, body: bytes) -> None:
    """Past 16 KiB a body that is only a number was counted as that many members (a 500, once)."""
    with pytest.raises(ProblemError) as caught:
        rank_bundle(geography, body)
    assert caught.value.status == 422
    assert [(e.pointer, e.detail) for e in caught.value.errors] == [("", "Input should be an object")]


# ---------------------------------------------------------------- bounded objects


def addresses(count: int, padding: int = 0) -> dict[str, Any]:
    organisation = organization("o1", *([{}] * count), text="x" * padding)
    return {"bundle": searchset(role("r1", "Organization/o1"), organisation)}


def test_a_body_denser_in_objects_than_a_directory_s_is_a_413(geography: Geography) -> None:
    """650,000 empty addresses (2 MB) were as many validated models: 524 MiB."""
    problem = refused(geography, addresses(650_000))
    assert (problem.status, problem.kind) == (413, "payload-too-large")
    assert problem.detail.startswith("the body holds 650,0")
    assert "more than 20,000 and more than one per 32 bytes" in problem.detail


def test_as_many_objects_in_a_body_big_enough_are_read(geography: Geography) -> None:
    body = addresses(40_000, padding=40_000 * 32)
    assert rank_bundle(geography, json.dumps(body).encode()).roles == 1
    assert rank_bundle(geography, json.dumps(addresses(19_990)).encode()).roles == 1  # 20,000 at most, any size


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'{"bundle":[' + b'{"a":NaN},' * 20_001 + b"{}]}", "malformed-json"),
        (b'\xef\xbb\xbf{"bundle":[' + b"{}," * 20_001 + b"{}]}", "malformed-json"),
        (b'{"bundle":[' + b"{}," * 30_000 + b'{}],"bundle":1}', "duplicate-key"),
        (b'{"bundle":[' + b'{"a":"\\ud800"},' * 30_000 + b"{}]}", "malformed-json"),
    ],
    ids=["NaN", "a byte order mark", "a repeated key", "a lone surrogate"],
)
def test_a_dense_body_that_is_not_json_is_a_400_first(geography: Geography, body: bytes, kind: str) -> None:
    """The object limit is for JSON bodies: what makes a body no JSON is said first, as before."""
    with pytest.raises(ProblemError) as caught:
        rank_bundle(geography, body)
    assert (caught.value.status, caught.value.kind) == (400, kind)


def test_braces_inside_strings_are_not_objects(geography: Geography) -> None:
    organisation = organization("o1", name="{" * 100_000)
    assert rank_bundle(geography, json.dumps({"bundle": searchset(role("r1"), organisation)}).encode()).roles == 1


IG_BUNDLES = ["liberal-cabinet", "salaried-hospital", "several-roles", "postal-code-only", "no-address"]


@pytest.mark.parametrize("name", IG_BUNDLES)
def test_the_ig_s_bundles_hold_one_object_per_73_bytes_or_more(name: str) -> None:
    """What the limit of one object per 32 bytes leaves a directory's bundle: more than twice."""
    compact = json.dumps(fixture(name), separators=(",", ":"), ensure_ascii=False).encode()
    assert len(compact) / compact.count(b"{") >= 73


def mutated(document: Any, rng: random.Random) -> Any:
    """The document with one to four elements replaced by a value of another JSON type, or added."""
    document = copy.deepcopy(document)
    for _ in range(rng.randint(1, 4)):
        paths = list(_paths(document))[1:]
        *parents, last = rng.choice(paths)
        target = document
        for step in parents:
            target = target[step]
        if rng.random() < 0.8:
            target[last] = copy.deepcopy(rng.choice(STRAY_VALUES))
        elif isinstance(target, dict):
            target[f"zz{rng.randint(0, 9)}"] = copy.deepcopy(rng.choice(STRAY_VALUES))
    return document


STRAY_VALUES: list[Any] = [
    None, 0, 1.5, -3, True, "", "x", "Bundle", "Organization", "Location", "Practitioner", "PractitionerRole",
    [], {}, [0], [{}], {"resourceType": "Location"}, {"url": "latitude", "valueDecimal": 99}, "2026-13", 1e300,
]  # fmt: skip


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Any:
    yield path
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for step, child in children:
        yield from _paths(child, (*path, step))


def refusal_from_the_text(body: bytes) -> dict[str, object] | None:
    """How the body was answered when pydantic validated its text (every error a copy of its input):
    a body over EVERY_ERROR_UP_TO with its lists failing fast."""
    big = len(body) > EVERY_ERROR_UP_TO
    try:
        (_FAILING_FAST if big else FhirRankingRequest.__pydantic_validator__).validate_json(body)
    except ValidationError as error:
        return _invalid(error, stopped_early=big).body()
    return None


@pytest.mark.parametrize("seed", range(4))
def test_the_document_is_refused_in_the_words_of_the_text_s_validation(seed: int) -> None:
    """The body is validated as the objects read from it, errors worded as for JSON ("an object",
    not "a valid dictionary or instance of Address"): the answers are those validating the text gave,
    to the byte, on the IG's bundles with elements of the wrong type."""
    rng = random.Random(seed)
    for _ in range(250):
        document = {"patient": {"location": {"postal_code": "13001"}}, "bundle": fixture(rng.choice(IG_BUNDLES))}
        body = json.dumps(mutated(document, rng)).encode()
        answered: dict[str, object] | None = None
        try:
            parse(body)
        except ProblemError as problem:
            answered = problem.body()
        assert answered == refusal_from_the_text(body), body


# ---------------------------------------------------------------- bounded answers


def test_a_text_quoted_in_a_warning_is_shortened(geography: Geography) -> None:
    """A warning quotes the city, a reference, an identifier, versions: each at most 256 characters,
    so that what a Bundle says of a shared resource, said again for each of its roles, stays small."""
    long = "X" * 100_000
    twice = [organization("o", full_url="urn:uuid:o", meta={"versionId": v * 100_000}) for v in "AB"]
    entries = [
        organization("p", {"postalCode": "58000", "city": long}),
        *twice,
        role("r1", "Organization/p"),
        role("r2", "urn:uuid:o"),
        role("r3", "Organization/" + long),
        role("r4", organization={"identifier": {"system": long, "value": long}}),
    ]
    for answer_format in ("ranking", "bundle"):
        body = json.dumps({"bundle": searchset(*entries), "format": answer_format}).encode()
        answered = rank_bundle(geography, body).body
        texts = (
            [w["detail"] for w in answered["warnings"]]
            if answer_format == "ranking"
            else [issue["details"]["text"] for issue in answered["entry"][-1]["resource"]["issue"]]
        )
        assert len(texts) >= 4
        assert all(len(text) < 1_500 for text in texts), [len(text) for text in texts]  # a few quotes at most
        assert any("X" * 256 + "…" in text for text in texts)


def test_a_name_or_an_identifier_an_answer_repeats_is_shortened(geography: Geography) -> None:
    """Each ranked role names its Organization and Practitioner again: 87 KB of body whose 60,000-
    character name 250 roles repeated were a 15 MB answer, forty of them at once 627 MiB."""
    practitioner = {
        "resource": {
            "resourceType": "Practitioner", "id": "p",
            "identifier": [{"system": "https://rpps.esante.gouv.fr", "value": "8" * 100_000}],
        }
    }  # fmt: skip
    entries = [organization("o", name="N" * 100_000), practitioner]
    entries += [role(f"r{i}", "Organization/o", practitioner={"reference": "Practitioner/p"}) for i in range(3)]
    ranked = answer(geography, searchset(*entries)).body["ranking"]
    assert {r["organization"]["name"] for r in ranked} == {"N" * 256 + "…"}
    assert {r["practitioner"]["rpps"] for r in ranked} == {"8" * 256 + "…"}


def shared_name(roles: int, name_length: int, **request: Any) -> bytes:
    """`roles` roles of one Organization whose name is `name_length` characters long, and so is the
    city of its address, whose postal code several communes share (a warning quotes the city)."""
    address = {"postalCode": "01000", "city": "C" * name_length}
    entries = [organization("o", address, name="N" * name_length)]
    entries += [role(f"r{i}", "Organization/o") for i in range(roles)]
    return json.dumps({"bundle": searchset(*entries), **request}).encode()


def test_an_answer_repeating_a_shared_text_past_the_limit_is_a_413(geography: Geography) -> None:
    """The Organization's name (256 characters quoted) is in each ranked role's answer: 3,000 roles,
    more than 1 MiB of answer from 0.2 MB of body."""
    body = shared_name(3_000, 256, patient={"location": {"postal_code": "13001"}})
    with pytest.raises(ProblemError) as caught:
        rank_bundle(geography, body, answer_limit=1024 * 1024)
    assert (caught.value.status, caught.value.kind) == (413, "answer-too-large")
    assert "the answer would hold more than 1,048,576 bytes" in caught.value.detail
    assert rank_bundle(geography, body).roles == 3_000  # no limit, no refusal


@pytest.mark.parametrize("answer_format", ["ranking", "bundle"])
def test_the_answer_s_parts_measure_what_it_serialises_to(geography: Geography, answer_format: str) -> None:
    """A limit just above the answer's size lets it through; just below, refuses it."""
    body = shared_name(30, 20_000, format=answer_format, patient={"location": {"postal_code": "13001"}})
    size = len(pydantic_core.to_json(rank_bundle(geography, body).body))
    rank_bundle(geography, body, answer_limit=size + ANSWER_ENVELOPE_BYTES)
    with pytest.raises(ProblemError):
        rank_bundle(geography, body, answer_limit=size - 1)


def test_numbers_written_back_longer_than_sent_are_measured(geography: Geography) -> None:
    """1e15 (4 bytes) is written back as 1000000000000000.0 (18): a Bundle answer of such numbers is
    nearly 4 times its body, and the bound that spares measuring each entry must still see it coming."""
    text = json.dumps({"bundle": searchset(organization("o", notes=[0] * 100_000), role("r", "Organization/o"))})
    body = text.replace("0, ", "1e15,").replace('"notes": [0]', '"notes": [1e15]').encode()
    body = body.replace(b'"bundle": {', b'"format": "bundle", "bundle": {', 1)
    size = len(pydantic_core.to_json(rank_bundle(geography, body).body))
    assert size > 3.5 * len(body)
    with pytest.raises(ProblemError):
        rank_bundle(geography, body, answer_limit=size - 1)
    assert rank_bundle(geography, body, answer_limit=size + ANSWER_ENVELOPE_BYTES).roles == 1
