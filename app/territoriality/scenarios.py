"""Verdicts on booking scenarios (ETHT.01, ETHT.02), each check citing the ruling it rests on.

The engine only gathers facts (channel, location given or declined, message shown, order of the
proposals...) and asks the catalogue's decision lists (rulings.yaml) what they mean. The ordering
facts come from the ranking engine (`classify_roster`): one engine, two uses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from app.geography import Geography
from app.territoriality.locations import LocationField, LocationInput, LocationNote
from app.territoriality.patients import NotApplicableReason, Patient, PatientLocationError, resolve_patient
from app.territoriality.policies import Policy, Tier
from app.territoriality.ranking import Classification, RosterInput, classify_rosters
from app.territoriality.roster import Physicians, as_roster
from app.territoriality.rulings import Aspect, Catalogue, CheckStatus, Facts, MissingFact, RulingKind, Verdict


class Channel(StrEnum):
    VIDEO = "video"
    PHONE = "phone"
    PHONE_TO_VIDEO = "phone_to_video"


class Offer(StrEnum):
    WITH_APPOINTMENT = "with_appointment"
    WITHOUT_APPOINTMENT = "without_appointment"


# A StrEnum member is its value: it looks up a JSON field by itself. Iterating the class is slow.
OFFERS = tuple(Offer)


def _offers_made(with_appointment: bool, without_appointment: bool) -> tuple[Offer, ...]:
    made = {Offer.WITH_APPOINTMENT: with_appointment, Offer.WITHOUT_APPOINTMENT: without_appointment}
    return tuple(offer for offer in OFFERS if made[offer])


_OFFERED = {(w, wo): _offers_made(w, wo) for w in (False, True) for wo in (False, True)}


class LocationFact(StrEnum):
    GIVEN = "given"
    DECLINED = "declined"  # stated: the patient chose not to give it
    NOT_OFFERED = "not_offered"  # none, and the patient could not enter one
    NOT_GIVEN = "not_given"  # the caller did not say
    OUTSIDE_FRANCE = "outside_france"


class ProposalsFact(StrEnum):
    GIVEN = "given"
    NOT_GIVEN = "not_given"


class TerritorialFact(StrEnum):
    """Where the first physician of the patient's territory was shown."""

    FIRST = "first"
    NOT_FIRST = "not_first"
    NONE = "none"


class OrderFact(StrEnum):
    RESPECTED = "respected"
    VIOLATED = "violated"


class AvailabilityFact(StrEnum):
    """Whether a physician of the territory was available for the offer, as the caller states it."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Offers:
    with_appointment: bool
    without_appointment: bool
    without_appointment_only_after_appointments: bool = False

    def offered(self) -> tuple[Offer, ...]:
        return _OFFERED[self.with_appointment, self.without_appointment]

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
    proposals: Mapping[Offer, Physicians] | None  # None: ordering not judged
    policy: Policy
    # whether a physician of the territory was available for an offer at that time; absent: unknown
    territorial_physician_available: Mapping[Offer, bool] = field(default_factory=dict)
    # without a location: True when the caller stated that the patient declined, False when he said nothing
    location_stated: bool = True


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
    missing: MissingFact | None = None  # the fact an inconclusive check needs
    deciding: DecidingLocation | None = None  # for a deciding location: whose, and which field
    missing_offer: Offer | None = None  # the offer the missing fact belongs to, when not this check's


@dataclass(frozen=True, slots=True)
class DecidingLocation:
    """The location an inconclusive outcome hinges on."""

    physician: int | None  # position in the offer's proposals (0-based); None: the patient's
    field: LocationField | None  # the field that would decide (a commune code); None: any location that resolves


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
    verdict_basis: RulingKind | None = None  # what a verdict other than compliant rests on


def evaluate_scenario(geography: Geography, catalogue: Catalogue, scenario: Scenario) -> Evaluation:
    """The verdict on one scenario; PatientLocationError when the patient's code does not exist."""
    [evaluation] = evaluate_scenarios(geography, catalogue, [scenario])
    if isinstance(evaluation, PatientLocationError):
        raise evaluation
    return evaluation


def evaluate_scenarios(
    geography: Geography, catalogue: Catalogue, scenarios: Sequence[Scenario]
) -> list[Evaluation | PatientLocationError]:
    """Verdicts on many scenarios (an audit's sessions), their proposals classified all at once."""
    prepared = [_prepare(geography, scenario) for scenario in scenarios]
    judged = [item for p in prepared if isinstance(p, _Prepared) for items in p.judged.values() for item in items]
    classifications = iter(classify_rosters(geography, judged))
    return [p if isinstance(p, PatientLocationError) else _evaluation(catalogue, p, classifications) for p in prepared]


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A scenario's facts before its proposals are classified."""

    scenario: Scenario
    patient: Patient
    location: LocationFact
    facts: dict[str, str | bool]
    # the proposals to classify, in offer order: facing the patient, then facing each of his possible
    # départements when he has several (a postal code that serves several)
    judged: dict[Offer, list[tuple[Patient, RosterInput, Policy]]]


def _prepare(geography: Geography, scenario: Scenario) -> _Prepared | PatientLocationError:
    try:
        patient = resolve_patient(geography, scenario.patient_location)
    except PatientLocationError as error:
        return error
    location = _location_fact(scenario, patient)
    facts: dict[str, str | bool] = {
        "channel": scenario.channel,
        "location": location,
        "message_shown": scenario.information_message_shown,
        "location_input_offered": scenario.location_input_offered,
        "walk_in_after_appointments": scenario.offers.walk_in_after_appointments,
    }
    judged = {}
    if location is LocationFact.GIVEN and scenario.proposals is not None:
        patients = [patient, *_one_departement_each(patient)]
        for offer in scenario.offers.offered():
            shown = scenario.proposals.get(offer)
            if shown is not None:
                roster = as_roster(shown)
                judged[offer] = [(p, roster, scenario.policy) for p in patients]
    return _Prepared(scenario, patient, location, facts, judged)


def _one_departement_each(patient: Patient) -> list[Patient]:
    """A patient placed in several départements, as placed in each one alone; none otherwise."""
    place = patient.place
    if place is None or len(place.departements) < 2:
        return []
    return [
        dataclasses.replace(patient, place=dataclasses.replace(place, departements=(d,))) for d in place.departements
    ]


def _evaluation(catalogue: Catalogue, prepared: _Prepared, classifications: Iterator[Classification]) -> Evaluation:
    scenario, facts = prepared.scenario, prepared.facts
    checks = [_check(catalogue, Aspect.INFORMATION_MESSAGE, facts), _check(catalogue, Aspect.LOCATION_INPUT, facts)]
    warnings = [ScenarioWarning(None, None, note) for note in prepared.patient.notes]
    walk_in_exempt = False
    appointments_undecided: Check | None = None  # the walk-in exemption hinges on this check
    for offer in scenario.offers.offered():
        offer_facts = {**facts, "offer": offer, "walk_in_exempt": offer is Offer.WITHOUT_APPOINTMENT and walk_in_exempt}
        judged = prepared.judged.get(offer)
        if judged is None:
            check = _check(catalogue, Aspect.ORDERING, {**offer_facts, "proposals": ProposalsFact.NOT_GIVEN}, offer)
        else:
            views = [next(classifications) for _ in judged]
            check = _ordering_check(catalogue, scenario, offer, offer_facts, judged[0][1], views)
            warnings += [ScenarioWarning(offer, w.physician, w.note) for w in views[0].roster_warnings]
        if offer is Offer.WITHOUT_APPOINTMENT and appointments_undecided and check.status is not CheckStatus.PASS:
            check = _exemption_undecided(check, appointments_undecided)
        checks.append(check)
        if offer is Offer.WITH_APPOINTMENT and scenario.offers.walk_in_after_appointments:
            # FAQ-TLC-2's condition, shown: "un médecin du territoire aura été proposé" among the appointments
            walk_in_exempt = check.territorial_first is True
            if not walk_in_exempt and check.status is CheckStatus.INCONCLUSIVE:
                appointments_undecided = check
    statuses = {c.status for c in checks}
    verdict, verdict_ruling = catalogue.verdict(
        {**facts, "any_fail": CheckStatus.FAIL in statuses, "any_inconclusive": CheckStatus.INCONCLUSIVE in statuses}
    )
    return Evaluation(
        verdict=verdict,
        verdict_ruling=verdict_ruling,
        verdict_basis=_basis(catalogue, verdict, verdict_ruling, checks),
        territoriality_applicable=catalogue.territoriality_applies(facts),
        ordering_judged=scenario.proposals is not None,
        checks=tuple(checks),
        policy=scenario.policy,
        rulings_version=catalogue.version,
        warnings=tuple(warnings),
    )


def _location_fact(scenario: Scenario, patient: Patient) -> LocationFact:
    if patient.not_applicable is NotApplicableReason.PATIENT_LOCATION_MISSING:
        if not scenario.location_input_offered:
            return LocationFact.NOT_OFFERED
        return LocationFact.DECLINED if scenario.location_stated else LocationFact.NOT_GIVEN
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
    deciding: DecidingLocation | None = None,
) -> Check:
    rule = catalogue.check(aspect, facts)
    assert isinstance(rule.outcome, CheckStatus)
    assert rule.ruling is not None
    deciding = deciding if rule.missing is MissingFact.DECIDING_LOCATION else None
    return Check(
        catalogue.requirements[aspect], aspect, offer, rule.outcome, rule.ruling, rule.reason,
        violation, territorial_proposed, territorial_first, rule.missing, deciding,
    )  # fmt: skip


def _exemption_undecided(walk_in: Check, appointments: Check) -> Check:
    """The walk-in list would not pass on its own, and whether FAQ-TLC-2 exempts it cannot be
    said: the appointment check that decides it is itself inconclusive. P-EVIDENCE-1: inconclusive,
    naming what the appointment check misses (not a decision list: it needs that check's outcome)."""
    return dataclasses.replace(
        walk_in,
        status=CheckStatus.INCONCLUSIVE,
        ruling="FAQ-TLC-2",
        reason=(
            "Walk-in is offered only after appointments: it is exempt if a physician of the territory was "
            "shown first among the appointments (FAQ-TLC-2), which cannot be judged yet. On its own, the "
            f"walk-in list would be {walk_in.status}: {walk_in.reason}"
        ),
        missing=appointments.missing,
        deciding=appointments.deciding,
        missing_offer=appointments.offer,
    )


def _basis(catalogue: Catalogue, verdict: Verdict, ruling: str | None, checks: list[Check]) -> RulingKind | None:
    """What a verdict rests on: a public source alone, or also this project's rules (a project rule,
    or a source applied through a project choice). None for compliant."""
    if verdict is Verdict.NON_COMPLIANT:
        kinds = {catalogue.rulings[c.ruling].failure_basis for c in checks if c.status is CheckStatus.FAIL}
        return RulingKind.SOURCE if RulingKind.SOURCE in kinds else RulingKind.PROJECT_CHOICE
    return catalogue.rulings[ruling].kind if ruling is not None else None


def _ordering_check(
    catalogue: Catalogue,
    scenario: Scenario,
    offer: Offer,
    facts: Facts,
    shown: RosterInput,
    views: list[Classification],
) -> Check:
    """`views[0]`: the proposals facing the patient; the others, facing each of his départements."""
    classification = views[0]
    tiers = classification.tiers.tolist()
    table = scenario.policy.territorial_table.tolist()
    territorial = [table[t] for t in tiers]
    misordered = _first_misordered(tiers)
    shown_facts = _shown_facts(table, tiers, misordered)
    deciding = _deciding_location(scenario.policy, views, shown_facts)
    available = scenario.territorial_physician_available.get(offer)
    return _check(
        catalogue,
        Aspect.ORDERING,
        {
            **facts,
            **shown_facts,
            "proposals": ProposalsFact.GIVEN,
            "certain": deciding is None,
            "available": AvailabilityFact.UNKNOWN if available is None else AVAILABILITY[available],
        },
        offer,
        violation=_first_order_violation(classification, shown, tiers, misordered),
        territorial_proposed=any(territorial),
        territorial_first=bool(territorial) and territorial[0],
        deciding=deciding,
    )


def _deciding_location(
    policy: Policy, views: list[Classification], shown_facts: dict[str, str]
) -> DecidingLocation | None:
    """The location the ordering facts hinge on, or None when every possible reading gives the same
    facts. Readings: each of the patient's départements; for each physician of several départements,
    any of them, whatever the others' (a mixed reading can differ from all-best and all-worst); for
    an unlocated physician, any tier (his code may be right, or any other)."""
    table = policy.territorial_table.tolist()
    unlocated = policy.tier_order.index(Tier.UNLOCATED)
    if any(_shown_facts(table, tiers, _first_misordered(tiers)) != shown_facts for tiers in _tiers_of(views[1:])):
        return DecidingLocation(None, LocationField.COMMUNE)
    actual = (shown_facts["territorial"], shown_facts["order"])
    for view in views:
        best, worst = view.tiers.tolist(), view.worst_tiers.tolist()
        if best == worst and unlocated not in best:  # every physician placed for certain: one reading
            continue
        possible = [
            range(unlocated + 1) if b == unlocated else sorted({b, w}) for b, w in zip(best, worst, strict=True)
        ]
        if _reachable_facts(table, possible) != {actual}:
            return next(
                DecidingLocation(i, LocationField.COMMUNE if b != w else None)
                for i, (b, w) in enumerate(zip(best, worst, strict=True))
                if b != w or b == unlocated
            )
    return None


def _tiers_of(views: Sequence[Classification]) -> Iterator[list[int]]:
    return (view.tiers.tolist() for view in views)


def _reachable_facts(territorial_table: list[bool], possible: Sequence[Sequence[int]]) -> set[tuple[str, str]]:
    """Every (territorial, order) pair of facts some reading gives, each physician's tier being any of
    his possible ones. Walked once over the list, keeping only what the facts depend on: the tier
    of the last physician while the order holds (None once it is broken), whether the first shown is
    territorial, whether any is: at most a few dozen states, whatever the length of the list."""
    if not possible:
        return {(TerritorialFact.NONE, OrderFact.RESPECTED)}
    states: set[tuple[int | None, bool, bool]] = set()
    for position, tiers in enumerate(possible):
        if position == 0:
            states = {(t, territorial_table[t], territorial_table[t]) for t in tiers}
            continue
        states = {
            (None if last is None or t < last else t, first, any_so_far or territorial_table[t])
            for last, first, any_so_far in states
            for t in tiers
        }
    return {
        (
            TerritorialFact.NONE
            if not any_territorial
            else TerritorialFact.FIRST
            if first
            else TerritorialFact.NOT_FIRST,
            OrderFact.VIOLATED if last is None else OrderFact.RESPECTED,
        )
        for last, first, any_territorial in states
    }


AVAILABILITY = {True: AvailabilityFact.YES, False: AvailabilityFact.NO}


def _shown_facts(territorial_table: list[bool], tiers: list[int], misordered: int | None) -> dict[str, str]:
    """What the ordering rules look at in the tiers shown, in the order shown (`misordered`: their
    `_first_misordered`)."""
    territorial = [territorial_table[t] for t in tiers]
    if not any(territorial):
        where = TerritorialFact.NONE
    else:
        where = TerritorialFact.FIRST if territorial[0] else TerritorialFact.NOT_FIRST
    return {"territorial": where, "order": OrderFact.RESPECTED if misordered is None else OrderFact.VIOLATED}


def _first_misordered(tiers: list[int]) -> int | None:
    """The first position shown before one of a strictly better tier (lists are short: plain Python)."""
    best_after = len(tiers) and max(tiers) + 1
    worse_than_after = [False] * len(tiers)
    for position in range(len(tiers) - 1, -1, -1):
        worse_than_after[position] = tiers[position] > best_after
        best_after = min(best_after, tiers[position])
    return next((p for p, worse in enumerate(worse_than_after) if worse), None)


def _first_order_violation(
    classification: Classification, shown: RosterInput, tiers: list[int], first: int | None
) -> OrderViolation | None:
    """The physician shown at `first` (`_first_misordered` of the tiers shown) and the first one of a
    strictly better tier shown after him."""
    if first is None:
        return None
    better = next(p for p in range(first + 1, len(tiers)) if tiers[p] < tiers[first])

    def describe(index: int) -> ShownPhysician:
        return ShownPhysician(shown.ids[index], index + 1, classification.tier(index))

    return OrderViolation(describe(first), describe(better))
