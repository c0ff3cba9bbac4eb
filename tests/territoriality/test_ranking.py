"""The ranking core, over both policies (one case suite, every variant), with hypothesis properties."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.geography import Point
from app.territoriality.locations import LocationField, LocationInput
from app.territoriality.patients import PatientLocationError
from app.territoriality.policies import POLICIES, Policy, Tier, UnknownPolicyError, get_policy
from app.territoriality.ranking import PhysicianInput, RankedPhysician, rank_physicians
from tests.geography.shared import GEOGRAPHY

COMMUNE_CODES = sorted(code for code, c in GEOGRAPHY.communes.items() if c.point is not None)
POLICY_LIST = list(POLICIES.values())

communes = st.sampled_from(COMMUNE_CODES)
bad_codes = st.sampled_from(["13999", "00000", "2A999"])
physician_locations = st.one_of(
    communes.map(lambda c: LocationInput(commune=c)),
    bad_codes.map(lambda c: LocationInput(commune=c)),
    st.builds(lambda lat, lon: LocationInput(coordinates=Point(lat, lon)), st.floats(41, 51), st.floats(-5, 9.5)),
)
rosters = st.lists(physician_locations, min_size=1, max_size=40).map(
    lambda locations: [PhysicianInput(f"p{i}", loc) for i, loc in enumerate(locations)]
)
policies = st.sampled_from(POLICY_LIST)


def ranked(patient: str, roster: list[PhysicianInput], policy: Policy) -> tuple[RankedPhysician, ...]:
    return rank_physicians(GEOGRAPHY, LocationInput(commune=patient), roster, policy).ranking


@given(communes, rosters, policies)
def test_ranking_is_a_permutation_of_the_input(patient: str, roster: list, policy: Policy) -> None:
    result = ranked(patient, roster, policy)
    assert sorted(r.index for r in result) == list(range(len(roster)))
    assert [r.rank for r in result] == list(range(1, len(roster) + 1))


@given(communes, rosters, policies)
def test_tiers_never_get_better_and_distances_grow_inside_a_tier(patient: str, roster: list, policy: Policy) -> None:
    result = ranked(patient, roster, policy)
    order = policy.tier_order
    for before, after in itertools.pairwise(result):
        assert order.index(before.tier) <= order.index(after.tier)
        same_tier = before.tier == after.tier
        if same_tier and before.distance_km is not None and after.distance_km is not None:
            assert before.distance_km <= after.distance_km
            if before.distance_km == after.distance_km:
                assert before.index < after.index


@given(communes, rosters, physician_locations, policies)
def test_adding_a_physician_keeps_the_order_of_the_others(
    patient: str, roster: list, extra: LocationInput, policy: Policy
) -> None:
    before = [r.id for r in ranked(patient, roster, policy)]
    after = [r.id for r in ranked(patient, [*roster, PhysicianInput("new", extra)], policy) if r.id != "new"]
    assert before == after


@given(communes, rosters, policies)
def test_a_physician_in_the_patients_commune_is_territorial(patient: str, roster: list, policy: Policy) -> None:
    result = ranked(patient, [PhysicianInput("neighbour", LocationInput(commune=patient)), *roster], policy)
    mine = next(r for r in result if r.id == "neighbour")
    assert mine.territorial
    if policy.name == "departement":
        assert mine.tier is Tier.SAME_DEPARTEMENT
    assert result[0].territorial  # someone territorial comes first


@given(communes, rosters, policies, st.randoms())
def test_equal_physicians_follow_input_order_only(
    patient: str, roster: list, policy: Policy, rnd: random.Random
) -> None:
    shuffled = roster[:]
    rnd.shuffle(shuffled)
    result = ranked(patient, shuffled, policy)
    key = {r.id: (r.tier, r.distance_km) for r in result}
    reference = {r.id: (r.tier, r.distance_km) for r in ranked(patient, roster, policy)}
    assert key == reference  # tier and distance do not depend on order
    positions = {p.id: i for i, p in enumerate(shuffled)}
    for before, after in itertools.pairwise(result):
        if key[before.id] == key[after.id]:
            assert positions[before.id] < positions[after.id]


@pytest.mark.parametrize("policy", POLICY_LIST, ids=lambda p: p.name)
def test_unlocated_physicians_come_last(policy: Policy) -> None:
    roster = [
        PhysicianInput("ghost", LocationInput(commune="13999")),
        PhysicianInput("far", LocationInput(commune="97209")),
    ]
    result = ranked("13055", roster, policy)
    assert [(r.id, r.tier) for r in result] == [("far", Tier.OUTSIDE_TERRITORY), ("ghost", Tier.UNLOCATED)]


@pytest.mark.parametrize("policy", POLICY_LIST, ids=lambda p: p.name)
def test_island_patient_has_no_adjacent_tier_outside_corsica(policy: Policy) -> None:
    roster = [
        PhysicianInput("nice", LocationInput(commune="06088")),
        PhysicianInput("bastia", LocationInput(commune="2B033")),
    ]
    result = ranked("2A004", roster, policy)
    assert [r.id for r in result] == ["bastia", "nice"]
    assert result[1].tier is Tier.OUTSIDE_TERRITORY


def test_radius_zero_means_the_departement_only() -> None:
    # Guyane (973) has radius 0: nothing beyond the département is within the radius
    roster = [
        PhysicianInput("cayenne", LocationInput(commune="97302")),
        PhysicianInput("pap", LocationInput(commune="97120")),
    ]
    result = ranked("97302", roster, get_policy("radius"))
    assert [(r.id, r.tier) for r in result] == [("cayenne", Tier.WITHIN_RADIUS), ("pap", Tier.OUTSIDE_TERRITORY)]


def test_radius_policy_uses_the_ans_figures() -> None:
    # Paris: radius 5 km, enlargement 3 km. Boulogne-Billancourt (92012) is about 8-9 km from Paris 4e.
    patient = "75104"
    roster = [
        PhysicianInput("issy", LocationInput(coordinates=Point(48.8245, 2.2700))),  # ~7 km from Paris 4e
        PhysicianInput("vincennes", LocationInput(coordinates=Point(48.8474, 2.4390))),  # ~5.5 km
        PhysicianInput("versailles", LocationInput(commune="78646")),
    ]
    result = {r.id: r for r in ranked(patient, roster, get_policy("radius"))}
    assert result["vincennes"].tier is Tier.WITHIN_ENLARGED_RADIUS
    assert result["issy"].tier is Tier.WITHIN_ENLARGED_RADIUS
    assert result["versailles"].tier is Tier.SAME_REGION
    assert GEOGRAPHY.search_radii["75"].default_km == 5


def test_unknown_patient_code_raises_a_typed_error() -> None:
    with pytest.raises(PatientLocationError) as error:
        rank_physicians(GEOGRAPHY, LocationInput(postal_code="99999"), [], POLICY_LIST[0])
    assert error.value.field is LocationField.POSTAL_CODE  # the contract turns it into a JSON pointer


def test_unknown_policy_names_the_known_ones() -> None:
    with pytest.raises(UnknownPolicyError, match="departement, radius"):
        get_policy("nearest")


def test_ten_thousand_physicians_rank() -> None:
    rng = np.random.default_rng(3)
    codes = rng.choice(COMMUNE_CODES, 10_000)
    roster = [PhysicianInput(f"p{i}", LocationInput(commune=str(c))) for i, c in enumerate(codes)]
    result = ranked("69123", roster, POLICY_LIST[0])
    assert len(result) == 10_000
    assert result[0].tier is Tier.SAME_DEPARTEMENT


@pytest.mark.parametrize("policy", POLICY_LIST, ids=lambda p: p.name)
def test_a_physician_by_a_shared_postal_code_is_placed_like_a_patient(policy: Policy) -> None:
    # 05110 serves communes of Alpes-de-Haute-Provence (04) and Hautes-Alpes (05)
    assert GEOGRAPHY.postal_codes["05110"].departements == ("04", "05")
    roster = [
        PhysicianInput("paris", LocationInput(commune="75056")),
        PhysicianInput("x", LocationInput(postal_code="05110")),
    ]
    for patient, best in (("04070", "04"), ("05061", "05")):
        result = rank_physicians(GEOGRAPHY, LocationInput(commune=patient), roster, policy)
        first = result.ranking[0]
        assert (first.id, first.territorial, first.departement) == ("x", True, best)
        [warning] = result.classification.roster_warnings
        assert (warning.physician, warning.note.code, warning.note.field) == (
            1,
            "several_departements",
            LocationField.POSTAL_CODE,
        )
        if policy.name == "departement":  # the other département is adjacent: a worse tier
            assert result.classification.worst_tiers[1] > result.classification.tiers[1]
