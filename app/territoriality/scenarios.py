"""Verdicts on booking scenarios (ETHT.01, ETHT.02), each check citing the ruling it rests on.

The engine only gathers facts (channel, location given or declined, message shown, order of the
proposals...) and asks the catalogue's decision lists (rulings.yaml) what they mean. The ordering
facts come from the ranking engine (`classify_roster`): one engine, two uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from app.geography import Geography
from app.territoriality.locations import LocationInput, LocationNote
from app.territoriality.patients import NotApplicableReason, Patient, resolve_patient
from app.territoriality.policies import Policy, Tier
from app.territoriality.ranking import Classification, PhysicianInput, classify_roster
from app.territoriality.rulings import Aspect, Catalogue, CheckStatus, Facts, Verdict


class Channel(StrEnum):
    VIDEO = "video"
    PHONE = "phone"
    PHONE_TO_VIDEO = "phone_to_video"


class Offer(StrEnum):
    WITH_APPOINTMENT = "with_appointment"
    WITHOUT_APPOINTMENT = "without_appointment"


class LocationFact(StrEnum):
    GIVEN = "given"
    DECLINED = "declined"
    OUTSIDE_FRANCE = "outside_france"


class OrderFact(StrEnum):
    RESPECTED = "respected"
    VIOLATED = "violated"
    NOT_JUDGED = "not_judged"


@dataclass(frozen=True, slots=True)
class Offers:
    with_appointment: bool
    without_appointment: bool
    without_appointment_only_after_appointments: bool = False

    def offered(self) -> tuple[Offer, ...]:
        return tuple(o for o in Offer if getattr(self, o.value))

    @property
    def walk_in_after_appointments(self) -> bool:
        return self.with_appointment and self.without_appointment and self.without_appointment_only_after_appointments


@dataclass(frozen=True, slots=True)
class Scenario:
    channel: Channel
    offers: Offers
    information_message_shown: bool
    location_input_offered: bool
    patient_location: LocationInput | None
    proposals: Mapping[Offer, Sequence[PhysicianInput]] | None  # None: ordering not judged
    policy: Policy


@dataclass(frozen=True, slots=True)
class ShownPhysician:
    id: str
    position: int  # 1-based, in the order shown
    tier: Tier


@dataclass(frozen=True, slots=True)
class OrderViolation:
    shown_first: ShownPhysician
    better_shown_after: ShownPhysician


@dataclass(frozen=True, slots=True)
class Check:
    requirement: str
    aspect: Aspect
    offer: Offer | None
    status: CheckStatus
    ruling: str
    reason: str
    violation: OrderViolation | None = None
    territorial_proposed: bool | None = None  # a territorial physician was among the proposals
    territorial_first: bool | None = None  # ... and was shown first


@dataclass(frozen=True, slots=True)
class ScenarioWarning:
    """A location the evaluation had to read around: the patient's, or a proposed physician's."""

    offer: Offer | None
    physician: int | None  # position in the offer's proposals; None: the patient
    note: LocationNote


@dataclass(frozen=True, slots=True)
class Evaluation:
    verdict: Verdict
    verdict_ruling: str | None
    territoriality_applicable: bool
    ordering_judged: bool
    checks: tuple[Check, ...]
    policy: Policy
    rulings_version: str
    warnings: tuple[ScenarioWarning, ...]


def evaluate_scenario(geography: Geography, catalogue: Catalogue, scenario: Scenario) -> Evaluation:
    patient = resolve_patient(geography, scenario.patient_location)
    location = _location_fact(patient)
    facts: dict[str, str | bool] = {
        "channel": scenario.channel,
        "location": location,
        "message_shown": scenario.information_message_shown,
        "location_input_offered": scenario.location_input_offered,
        "walk_in_after_appointments": scenario.offers.walk_in_after_appointments,
    }
    checks = [_check(catalogue, Aspect.INFORMATION_MESSAGE, facts), _check(catalogue, Aspect.LOCATION_INPUT, facts)]
    warnings: list[ScenarioWarning] = []
    for offer in scenario.offers.offered():
        check, offer_warnings = _ordering_check(geography, catalogue, scenario, patient, offer, location, facts)
        checks.append(check)
        warnings.extend(offer_warnings)
    verdict, verdict_ruling = catalogue.verdict(
        {**facts, "any_fail": any(c.status is CheckStatus.FAIL for c in checks)}
    )
    return Evaluation(
        verdict=verdict,
        verdict_ruling=verdict_ruling,
        territoriality_applicable=catalogue.territoriality_applies(facts),
        ordering_judged=scenario.proposals is not None,
        checks=tuple(checks),
        policy=scenario.policy,
        rulings_version=catalogue.version,
        warnings=tuple(warnings),
    )


def _location_fact(patient: Patient) -> LocationFact:
    if patient.not_applicable is NotApplicableReason.PATIENT_LOCATION_MISSING:
        return LocationFact.DECLINED
    if patient.not_applicable is NotApplicableReason.PATIENT_OUTSIDE_FRANCE:
        return LocationFact.OUTSIDE_FRANCE
    return LocationFact.GIVEN


def _check(
    catalogue: Catalogue,
    aspect: Aspect,
    facts: Facts,
    offer: Offer | None = None,
    violation: OrderViolation | None = None,
    territorial_proposed: bool | None = None,
    territorial_first: bool | None = None,
) -> Check:
    status, ruling, reason = catalogue.check(aspect, facts)
    return Check(
        catalogue.requirements[aspect], aspect, offer, status, ruling, reason,
        violation, territorial_proposed, territorial_first,
    )  # fmt: skip


def _ordering_check(
    geography: Geography,
    catalogue: Catalogue,
    scenario: Scenario,
    patient: Patient,
    offer: Offer,
    location: LocationFact,
    facts: Facts,
) -> tuple[Check, tuple[ScenarioWarning, ...]]:
    shown = scenario.proposals.get(offer) if scenario.proposals is not None else None
    if shown is None or location is not LocationFact.GIVEN:
        order = OrderFact.NOT_JUDGED
        return _check(catalogue, Aspect.ORDERING, {**facts, "offer": offer, "order": order}, offer), ()
    classification = classify_roster(geography, patient, shown, scenario.policy)
    violation = first_order_violation(classification, shown)
    order = OrderFact.VIOLATED if violation else OrderFact.RESPECTED
    territorial = [classification.tier(i) in scenario.policy.territorial for i in range(len(shown))]
    check = _check(
        catalogue,
        Aspect.ORDERING,
        {**facts, "offer": offer, "order": order},
        offer,
        violation=violation,
        territorial_proposed=any(territorial),
        territorial_first=bool(territorial) and territorial[0],
    )
    warnings = [ScenarioWarning(offer, None, note) for note in patient.notes]
    warnings += [ScenarioWarning(offer, w.physician, w.note) for w in classification.roster_warnings]
    return check, tuple(warnings)


def first_order_violation(classification: Classification, shown: Sequence[PhysicianInput]) -> OrderViolation | None:
    """The first physician shown before one of a strictly better tier, and the first such one after him."""
    tiers = classification.tiers
    if len(tiers) < 2:
        return None
    best_after = np.minimum.accumulate(tiers[::-1])[::-1]  # best tier from each position to the end
    offending = np.nonzero(tiers[:-1] > best_after[1:])[0]
    if not len(offending):
        return None
    first = int(offending[0])
    better = first + 1 + int(np.argmax(tiers[first + 1 :] < tiers[first]))

    def describe(index: int) -> ShownPhysician:
        return ShownPhysician(shown[index].id, index + 1, classification.tier(index))

    return OrderViolation(describe(first), describe(better))
