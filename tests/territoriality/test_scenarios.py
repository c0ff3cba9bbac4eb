"""The scenario engine in-process, on domain objects: facts in, checks and verdict out."""

from __future__ import annotations

import pytest

from app.geography import Geography
from app.territoriality.locations import LocationField, LocationInput
from app.territoriality.policies import DEPARTEMENT_V1, Tier
from app.territoriality.ranking import PhysicianInput
from app.territoriality.rulings import Aspect, CheckStatus, Verdict, load_catalogue
from app.territoriality.scenarios import Channel, Evaluation, Offer, Offers, Scenario, evaluate_scenario

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
