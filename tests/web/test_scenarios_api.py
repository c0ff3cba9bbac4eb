"""POST /v1/scenario-evaluations and GET /v1/rulings against a real server."""

from __future__ import annotations

import httpx
import pytest

from app.conformance.decision_table import TABLE_CSV, TABLE_MD, outcome_of, read_table, render_markdown, request_for
from tests.live_server import ROOT

TABLE = read_table(ROOT / "docs" / TABLE_CSV)
MARSEILLE = {"id": "dr-marseille", "location": {"commune": "13055"}}
PARIS = {"id": "dr-paris", "location": {"commune": "75056"}}


def evaluate(client: httpx.Client, body: dict) -> dict:
    response = client.post("/v1/scenario-evaluations", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def scenario(**overrides: object) -> dict:
    body: dict = {
        "channel": "video",
        "offers": {"with_appointment": True, "without_appointment": False},
        "information_message_shown": True,
        "location_input_offered": True,
        "patient": {"location": {"postal_code": "13001"}},
        "proposals": {"with_appointment": [MARSEILLE, PARIS]},
    }
    body.update(overrides)
    return body


def checks_by_aspect(result: dict) -> dict[tuple[str, str | None], dict]:
    return {(c["aspect"], c["offer"]): c for c in result["checks"]}


def test_the_table_covers_every_combination() -> None:
    assert len(TABLE) == 3 * 4 * 3 * 2 * 2 * 7


def test_the_documented_table_is_rendered_from_the_data() -> None:
    assert (ROOT / "docs" / TABLE_MD).read_text(encoding="utf-8") == render_markdown(TABLE)


@pytest.mark.parametrize("row", TABLE, ids=lambda r: "-".join(r[c] for c in list(r)[:6]))
def test_decision_table_row(client: httpx.Client, row: dict[str, str]) -> None:
    result = evaluate(client, request_for(row))
    expected = {k: row[k] for k in outcome_of(result)}
    assert outcome_of(result) == expected


def test_declined_location_without_the_message_is_non_compliant_citing_faq_tlc_3(client: httpx.Client) -> None:
    result = evaluate(client, scenario(patient={"location": None}, information_message_shown=False))
    assert result["verdict"] == "non_compliant"
    assert result["territoriality_applicable"] is False
    message = checks_by_aspect(result)[("information_message", None)]
    assert (message["requirement"], message["status"], message["ruling"]) == ("ETHT.01", "fail", "FAQ-TLC-3")


def test_declined_location_with_the_message_is_compliant(client: httpx.Client) -> None:
    result = evaluate(client, scenario(patient={"location": None}))
    assert result["verdict"] == "compliant"
    assert checks_by_aspect(result)[("ordering", "with_appointment")]["ruling"] == "FAQ-TLC-3"


def test_phone_only_is_out_of_scope_citing_faq_tlc_4(client: httpx.Client) -> None:
    result = evaluate(client, scenario(channel="phone", information_message_shown=False, location_input_offered=False))
    assert result["verdict"] == "out_of_scope"
    assert result["verdict_ruling"] == "FAQ-TLC-4"
    assert {c["ruling"] for c in result["checks"]} == {"FAQ-TLC-4"}


@pytest.mark.parametrize(
    ("changes", "aspect"),
    [
        ({"information_message_shown": False}, "information_message"),
        ({"location_input_offered": False}, "location_input"),
    ],
)
def test_phone_turned_into_video_needs_message_and_location_input(
    client: httpx.Client, changes: dict, aspect: str
) -> None:
    result = evaluate(client, scenario(channel="phone_to_video", **changes))
    assert result["verdict"] == "non_compliant"
    failed = [c for c in result["checks"] if c["status"] == "fail"]
    assert [(c["aspect"], c["ruling"]) for c in failed] == [(aspect, "FAQ-TLC-5")]


def test_phone_turned_into_video_with_both_complies(client: httpx.Client) -> None:
    result = evaluate(client, scenario(channel="phone_to_video"))
    assert result["verdict"] == "compliant"


BOTH = {"with_appointment": True, "without_appointment": True}


def test_walk_in_only_after_appointments_rests_on_the_appointments(client: httpx.Client) -> None:
    body = scenario(
        offers={**BOTH, "without_appointment_only_after_appointments": True},
        proposals={"with_appointment": [MARSEILLE, PARIS], "without_appointment": [PARIS, MARSEILLE]},
    )
    result = evaluate(client, body)
    assert result["verdict"] == "compliant"
    walk_in = checks_by_aspect(result)[("ordering", "without_appointment")]
    assert (walk_in["status"], walk_in["ruling"]) == ("not_applicable", "FAQ-TLC-2")
    assert walk_in["territorial_first"] is False


def test_walk_in_offered_first_must_itself_be_territorial_first(client: httpx.Client) -> None:
    body = scenario(
        offers={**BOTH, "without_appointment_only_after_appointments": False},
        proposals={"with_appointment": [MARSEILLE, PARIS], "without_appointment": [PARIS, MARSEILLE]},
    )
    result = evaluate(client, body)
    assert result["verdict"] == "non_compliant"
    walk_in = checks_by_aspect(result)[("ordering", "without_appointment")]
    assert (walk_in["status"], walk_in["ruling"]) == ("fail", "FAQ-TLC-7")
    assert walk_in["violation"] == {
        "shown_first": {"id": "dr-paris", "position": 1, "tier": "outside_territory"},
        "better_shown_after": {"id": "dr-marseille", "position": 2, "tier": "same_departement"},
    }


def test_first_offending_pair_is_named(client: httpx.Client) -> None:
    avignon = {"id": "dr-avignon", "location": {"commune": "84007"}}
    nice = {"id": "dr-nice", "location": {"commune": "06088"}}
    shown = [MARSEILLE, nice, PARIS, avignon]  # Nice (same région) before Avignon (adjacent): first offence
    result = evaluate(client, scenario(proposals={"with_appointment": shown}))
    violation = checks_by_aspect(result)[("ordering", "with_appointment")]["violation"]
    assert violation == {
        "shown_first": {"id": "dr-nice", "position": 2, "tier": "same_region"},
        "better_shown_after": {"id": "dr-avignon", "position": 4, "tier": "adjacent_departement"},
    }


def test_ordering_uses_the_requested_policy(client: httpx.Client) -> None:
    aix = {"id": "dr-aix", "location": {"commune": "13001"}}  # Aix-en-Provence, 13, ~26 km
    result = evaluate(client, scenario(policy="radius", proposals={"with_appointment": [aix, MARSEILLE]}))
    assert result["policy"] == {"name": "radius", "version": "1"}
    assert checks_by_aspect(result)[("ordering", "with_appointment")]["status"] == "pass"


def test_without_proposals_the_ordering_is_inconclusive_and_names_them(client: httpx.Client) -> None:
    result = evaluate(client, scenario(proposals=None))
    assert result["ordering_judged"] is False
    assert (result["verdict"], result["verdict_ruling"]) == ("inconclusive", "P-EVIDENCE-1")
    ordering = checks_by_aspect(result)[("ordering", "with_appointment")]
    assert (ordering["status"], ordering["missing_fact"]) == ("inconclusive", "/proposals/with_appointment")


def test_patient_abroad_is_not_applicable_citing_the_project_rule(client: httpx.Client) -> None:
    geneva = {"location": {"coordinates": {"lat": 46.2044, "lon": 6.1432}}}
    result = evaluate(client, scenario(patient=geneva))
    assert checks_by_aspect(result)[("ordering", "with_appointment")]["ruling"] == "P-ABROAD-1"
    assert result["territoriality_applicable"] is False


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (scenario(proposals={"without_appointment": [PARIS]}), "/proposals/without_appointment"),
        (scenario(proposals={"with_appointment": [PARIS, PARIS]}), "/proposals/with_appointment/1/id"),
        (scenario(offers={"with_appointment": False, "without_appointment": False}), "/offers"),
        (scenario(channel="fax"), "/channel"),
        (scenario(patient={"location": {"commune": "13999"}}), "/patient/location/commune"),
    ],
)
def test_invalid_scenarios_are_422_naming_the_field(client: httpx.Client, body: dict, pointer: str) -> None:
    response = client.post("/v1/scenario-evaluations", json=body)
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in response.json()["errors"]]


def test_rulings_catalogue(client: httpx.Client) -> None:
    catalogue = client.get("/v1/rulings").json()
    rulings = {r["id"]: r for r in catalogue["rulings"]}
    assert {f"FAQ-TLC-{i}" for i in range(1, 8)} <= set(rulings)
    assert "ne rentre pas dans le périmètre" in rulings["FAQ-TLC-4"]["quote"]
    assert rulings["P-ORDER-1"]["kind"] == "project_choice"
    assert catalogue["version"] == evaluate(client, scenario())["rulings_version"]
