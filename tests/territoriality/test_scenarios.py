"""The scenario engine in-process, on domain objects: facts in, checks and verdict out."""

from __future__ import annotations

import pytest

from app.geography import Geography
from app.territoriality.locations import LocationField, LocationInput
from app.territoriality.policies import DEPARTEMENT_V1, Tier
from app.territoriality.ranking import PhysicianInput
from app.territoriality.rulings import Aspect, CheckStatus, MissingFact, RulingKind, Verdict, load_catalogue
from app.territoriality.scenarios import (
    Channel,
    DecidingLocation,
    Evaluation,
    LocationFact,
    Offer,
    Offers,
    Scenario,
    evaluate_scenario,
)

MARSEILLE = LocationInput(postal_code="13001")
IN_MARSEILLE = PhysicianInput("marseille", LocationInput(commune="13055"))
IN_AVIGNON = PhysicianInput("avignon", LocationInput(commune="84007"))
IN_PARIS = PhysicianInput("paris", LocationInput(commune="75056"))


def scenario(**changes: object) -> Scenario:
    fields: dict[str, object] = {
        "channel": Channel.VIDEO,
        "offers": Offers(with_appointment=True, without_appointment=False),
        "information_message_shown": True,
        "location_input_offered": True,
        "patient_location": MARSEILLE,
        "proposals": {Offer.WITH_APPOINTMENT: [IN_MARSEILLE, IN_PARIS]},
        "policy": DEPARTEMENT_V1,
    }
    return Scenario(**{**fields, **changes})  # type: ignore[arg-type]


def evaluate(geography: Geography, **changes: object) -> Evaluation:
    return evaluate_scenario(geography, load_catalogue(), scenario(**changes))


def ordering(evaluation: Evaluation, offer: Offer = Offer.WITH_APPOINTMENT):  # noqa: ANN201
    return next(c for c in evaluation.checks if c.aspect is Aspect.ORDERING and c.offer is offer)


def test_territorial_physician_first_complies(geography: Geography) -> None:
    result = evaluate(geography)
    assert result.verdict is Verdict.COMPLIANT
    assert ordering(result).status is CheckStatus.PASS
    assert ordering(result).territorial_first is True
    assert [c.aspect for c in result.checks] == [Aspect.INFORMATION_MESSAGE, Aspect.LOCATION_INPUT, Aspect.ORDERING]
    assert [c.requirement for c in result.checks] == ["ETHT.01", "ETHT.02", "ETHT.02"]


def test_a_violation_names_the_first_offending_pair(geography: Geography) -> None:
    result = evaluate(geography, proposals={Offer.WITH_APPOINTMENT: [IN_PARIS, IN_AVIGNON, IN_MARSEILLE]})
    assert result.verdict is Verdict.NON_COMPLIANT
    violation = ordering(result).violation
    assert violation is not None
    assert (violation.shown_first.id, violation.shown_first.position, violation.shown_first.tier) == (
        "paris",
        1,
        Tier.OUTSIDE_TERRITORY,
    )
    assert (violation.better_shown_after.id, violation.better_shown_after.position) == ("avignon", 2)


def test_phone_only_is_out_of_scope_whatever_else(geography: Geography) -> None:
    result = evaluate(geography, channel=Channel.PHONE, information_message_shown=False)
    assert result.verdict is Verdict.OUT_OF_SCOPE
    assert result.territoriality_applicable is False
    assert {c.status for c in result.checks} == {CheckStatus.NOT_APPLICABLE}


def test_declined_location_needs_the_message(geography: Geography) -> None:
    shown = evaluate(geography, patient_location=None)
    assert shown.territoriality_applicable is False
    assert ordering(shown).status is CheckStatus.NOT_APPLICABLE
    not_shown = evaluate(geography, patient_location=None, information_message_shown=False)
    assert not_shown.verdict is Verdict.NON_COMPLIANT
    message = next(c for c in not_shown.checks if c.aspect is Aspect.INFORMATION_MESSAGE)
    assert (message.status, message.ruling) == (CheckStatus.FAIL, "FAQ-TLC-3")


@pytest.mark.parametrize("channel", [Channel.VIDEO, Channel.PHONE_TO_VIDEO])
def test_location_input_is_required_off_the_phone(geography: Geography, channel: Channel) -> None:
    result = evaluate(geography, channel=channel, location_input_offered=False)
    check = next(c for c in result.checks if c.aspect is Aspect.LOCATION_INPUT)
    assert check.status is CheckStatus.FAIL
    assert result.verdict is Verdict.NON_COMPLIANT


def test_warnings_say_which_offer_and_which_physician(geography: Geography) -> None:
    unknown = PhysicianInput("nowhere", LocationInput(commune="99999"))
    result = evaluate(geography, proposals={Offer.WITH_APPOINTMENT: [IN_MARSEILLE, unknown]})
    [warning] = result.warnings
    assert (warning.offer, warning.physician, warning.note.field, warning.note.code) == (
        Offer.WITH_APPOINTMENT,
        1,
        LocationField.COMMUNE,
        "physician_unlocated",
    )


def test_no_territorial_physician_proposed_is_inconclusive_until_availability_is_stated(geography: Geography) -> None:
    only_paris = {Offer.WITH_APPOINTMENT: [IN_PARIS]}
    unknown = evaluate(geography, proposals=only_paris)
    assert (unknown.verdict, ordering(unknown).status) == (Verdict.INCONCLUSIVE, CheckStatus.INCONCLUSIVE)
    assert ordering(unknown).missing is MissingFact.TERRITORIAL_PHYSICIAN_AVAILABLE
    none_available = evaluate(
        geography, proposals=only_paris, territorial_physician_available={Offer.WITH_APPOINTMENT: False}
    )
    assert (none_available.verdict, ordering(none_available).ruling) == (Verdict.COMPLIANT, "P-ORDER-1")
    one_available = evaluate(
        geography, proposals=only_paris, territorial_physician_available={Offer.WITH_APPOINTMENT: True}
    )
    assert (one_available.verdict, ordering(one_available).ruling) == (Verdict.NON_COMPLIANT, "P-AVAILABLE-1")


def test_misorder_among_non_territorial_tiers_cites_the_project_rule(geography: Geography) -> None:
    result = evaluate(geography, proposals={Offer.WITH_APPOINTMENT: [IN_MARSEILLE, IN_PARIS, IN_AVIGNON]})
    assert (result.verdict, ordering(result).ruling) == (Verdict.NON_COMPLIANT, "P-ORDER-1")
    assert load_catalogue().rulings["P-ORDER-1"].kind is RulingKind.PROJECT_CHOICE


def test_the_walk_in_exemption_needs_a_territorial_physician_first_among_appointments(geography: Geography) -> None:
    both = Offers(with_appointment=True, without_appointment=True, without_appointment_only_after_appointments=True)
    walk_in = [IN_PARIS, IN_MARSEILLE]
    shown = evaluate(
        geography, offers=both, proposals={Offer.WITH_APPOINTMENT: [IN_MARSEILLE], Offer.WITHOUT_APPOINTMENT: walk_in}
    )
    assert ordering(shown, Offer.WITHOUT_APPOINTMENT).ruling == "FAQ-TLC-2"
    not_shown = evaluate(
        geography,
        offers=both,
        proposals={Offer.WITH_APPOINTMENT: [IN_PARIS], Offer.WITHOUT_APPOINTMENT: walk_in},
        territorial_physician_available={Offer.WITH_APPOINTMENT: False},
    )
    assert (
        ordering(not_shown, Offer.WITHOUT_APPOINTMENT).status,
        ordering(not_shown, Offer.WITHOUT_APPOINTMENT).ruling,
    ) == (
        CheckStatus.FAIL,
        "FAQ-TLC-7",
    )


def test_a_walk_in_exemption_that_cannot_be_judged_leaves_the_walk_in_list_inconclusive(geography: Geography) -> None:
    """FAQ-TLC-2 exempts the walk-in list if a physician of the territory was shown first among the
    appointments: without the appointments shown, that cannot be said, nor the walk-in verdict."""
    both = Offers(with_appointment=True, without_appointment=True, without_appointment_only_after_appointments=True)
    unsure = evaluate(geography, offers=both, proposals={Offer.WITHOUT_APPOINTMENT: [IN_PARIS, IN_MARSEILLE]})
    walk_in = ordering(unsure, Offer.WITHOUT_APPOINTMENT)
    assert (unsure.verdict, walk_in.status, walk_in.ruling) == (
        Verdict.INCONCLUSIVE,
        CheckStatus.INCONCLUSIVE,
        "FAQ-TLC-2",
    )
    assert (walk_in.missing, walk_in.missing_offer) == (MissingFact.PROPOSALS, Offer.WITH_APPOINTMENT)
    passing_alone = evaluate(geography, offers=both, proposals={Offer.WITHOUT_APPOINTMENT: [IN_MARSEILLE, IN_PARIS]})
    assert ordering(passing_alone, Offer.WITHOUT_APPOINTMENT).status is CheckStatus.PASS


def test_a_mixed_reading_of_uncertain_physicians_is_a_reading_too(geography: Geography) -> None:
    """Two physicians given only by 05110 (it serves 04 and 05) after one of Digne (04): read both
    in 04 or both in 05, the order holds; one in 05 then one in 04 breaks it. Not compliant, not
    non-compliant: the answer hinges on their communes."""
    by_postal_code = [PhysicianInput(f"p{i}", LocationInput(postal_code="05110")) for i in (1, 2)]
    result = evaluate(
        geography,
        patient_location=LocationInput(commune="04070"),
        proposals={Offer.WITH_APPOINTMENT: [PhysicianInput("digne", LocationInput(commune="04070")), *by_postal_code]},
    )
    assert (result.verdict, ordering(result).status) == (Verdict.INCONCLUSIVE, CheckStatus.INCONCLUSIVE)
    assert ordering(result).deciding == DecidingLocation(1, LocationField.COMMUNE)


def test_an_unknown_code_may_hide_any_tier(geography: Geography) -> None:
    """Marseille, Avignon, an unknown code, then Paris: the unknown physician read as of Paris or of
    Nice, the order holds; read as unlocated or of Marseille, it does not."""
    unknown = PhysicianInput("unknown", LocationInput(commune="99999"))
    result = evaluate(geography, proposals={Offer.WITH_APPOINTMENT: [IN_MARSEILLE, IN_AVIGNON, unknown, IN_PARIS]})
    assert (result.verdict, ordering(result).status) == (Verdict.INCONCLUSIVE, CheckStatus.INCONCLUSIVE)
    assert ordering(result).deciding == DecidingLocation(2, None)


def test_the_message_cites_faq_tlc_3_only_for_a_declined_location(geography: Geography) -> None:
    def message(evaluation: Evaluation) -> str:
        return next(c.ruling for c in evaluation.checks if c.aspect is Aspect.INFORMATION_MESSAGE)

    assert message(evaluate(geography, patient_location=None)) == "FAQ-TLC-3"
    assert message(evaluate(geography)) == "P-MESSAGE-1"


def test_a_shared_postal_code_that_decides_the_answer_makes_it_inconclusive(geography: Geography) -> None:
    shared = PhysicianInput("shared", LocationInput(postal_code="05110"))  # 04 or 05
    result = evaluate(
        geography,
        patient_location=LocationInput(commune="04070"),
        proposals={Offer.WITH_APPOINTMENT: [shared, IN_PARIS]},
    )
    check = ordering(result)
    assert (check.status, check.missing, check.deciding) == (
        CheckStatus.INCONCLUSIVE,
        MissingFact.DECIDING_LOCATION,
        DecidingLocation(0, LocationField.COMMUNE),
    )


def test_patient_warnings_come_once_whatever_the_offers(geography: Geography) -> None:
    both = Offers(with_appointment=True, without_appointment=True)
    old_code = LocationInput(commune="01003")  # an old code of a merged commune
    result = evaluate(geography, offers=both, patient_location=old_code, proposals=None)
    assert [(w.offer, w.physician, w.note.code) for w in result.warnings] == [(None, None, "old_commune_code")]


def test_a_patient_location_not_stated_is_not_a_declined_one(geography: Geography) -> None:
    silent = evaluate(geography, patient_location=None, location_stated=False)
    assert (silent.verdict, ordering(silent).missing) == (Verdict.INCONCLUSIVE, MissingFact.PATIENT_LOCATION)
    declined = evaluate(geography, patient_location=None, location_stated=True)
    assert (declined.verdict, ordering(declined).ruling) == (Verdict.COMPLIANT, "FAQ-TLC-3")


def test_without_a_location_input_no_one_declined(geography: Geography) -> None:
    result = evaluate(geography, patient_location=None, location_input_offered=False)
    rulings = {c.aspect: c.ruling for c in result.checks}
    assert rulings == {
        Aspect.INFORMATION_MESSAGE: "P-MESSAGE-1",
        Aspect.LOCATION_INPUT: "FAQ-TLC-6",
        Aspect.ORDERING: "FAQ-TLC-6",
    }
    assert "declined" not in " ".join(c.reason for c in result.checks)
    assert result.verdict is Verdict.NON_COMPLIANT


def test_an_unlocated_physician_who_could_decide_makes_it_inconclusive(geography: Geography) -> None:
    unknown = PhysicianInput("ghost", LocationInput(commune="99999"))
    result = evaluate(geography, proposals={Offer.WITH_APPOINTMENT: [unknown, IN_MARSEILLE]})
    assert (ordering(result).status, ordering(result).deciding) == (CheckStatus.INCONCLUSIVE, DecidingLocation(0, None))
    last = evaluate(geography, proposals={Offer.WITH_APPOINTMENT: [IN_MARSEILLE, unknown]})
    assert ordering(last).status is CheckStatus.PASS  # whatever his tier, a physician of the territory came first


def test_a_patient_of_several_departements_is_judged_in_each(geography: Geography) -> None:
    in_04 = PhysicianInput("digne", LocationInput(commune="04070"))
    result = evaluate(
        geography, patient_location=LocationInput(postal_code="05110"), proposals={Offer.WITH_APPOINTMENT: [in_04]}
    )
    assert (ordering(result).status, ordering(result).deciding) == (
        CheckStatus.INCONCLUSIVE,
        DecidingLocation(None, LocationField.COMMUNE),
    )


def test_a_failure_whatever_the_availability_is_a_failure(geography: Geography) -> None:
    result = evaluate(geography, proposals={Offer.WITH_APPOINTMENT: [IN_PARIS, IN_AVIGNON]})
    assert (result.verdict, ordering(result).ruling, result.verdict_basis) == (
        Verdict.NON_COMPLIANT,
        "P-ORDER-1",
        RulingKind.PROJECT_CHOICE,
    )


def test_the_verdict_says_whether_it_rests_on_a_public_source(geography: Geography) -> None:
    declined_uninformed = evaluate(geography, patient_location=None, information_message_shown=False)
    assert (declined_uninformed.verdict, declined_uninformed.checks[0].ruling) == (Verdict.NON_COMPLIANT, "FAQ-TLC-3")
    assert declined_uninformed.verdict_basis is RulingKind.SOURCE
    assert evaluate(geography).verdict_basis is None


def test_a_failure_citing_a_source_applied_through_a_project_choice_rests_on_that_choice(
    geography: Geography,
) -> None:
    """FAQ-TLC-7 says "proche": which physicians are near is the policy's territory. FAQ-TLC-6 is
    said of the phone pathway turned into video: this project applies it to every channel."""
    not_first = evaluate(geography, proposals={Offer.WITH_APPOINTMENT: [IN_PARIS, IN_MARSEILLE]})
    assert (not_first.verdict, ordering(not_first).ruling) == (Verdict.NON_COMPLIANT, "FAQ-TLC-7")
    assert not_first.verdict_basis is RulingKind.PROJECT_CHOICE
    no_input = evaluate(geography, location_input_offered=False)
    assert no_input.checks[1].ruling == "FAQ-TLC-6"
    assert no_input.verdict_basis is RulingKind.PROJECT_CHOICE
    assert LocationFact.NOT_GIVEN.value == "not_given"
