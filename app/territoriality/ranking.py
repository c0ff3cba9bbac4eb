"""ETHT.02: put the physicians of the patient's territory first.

One engine, two uses: `rank_physicians` orders a roster (POST /v1/rankings), `classify_roster`
gives each physician of a roster, in the order shown, its tier (the scenario ordering check).
The engine works on arrays (app/territoriality/roster.py): tiers by the policy's ordered tests,
then one lexsort on (tier, distance as shown, input position).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from app.geography import Geography, geodesic_km
from app.territoriality.locations import LocationInput
from app.territoriality.patients import Patient, resolve_patient
from app.territoriality.policies import Policy, Roster, Territory, Tier
from app.territoriality.roster import (
    PhysicianInput,
    Physicians,
    ResolvedRoster,
    RosterInput,
    RosterWarning,
    as_roster,
    departement_numbers,
    resolve_roster,
)

__all__ = ["Classification", "PhysicianInput", "RankedPhysician", "Ranking", "RosterInput", "RosterWarning"]


@dataclass(frozen=True, slots=True)
class RankedPhysician:
    rank: int
    index: int  # position in the request
    id: str
    tier: Tier
    territorial: bool | None
    distance_km: float | None
    departement: str | None


@dataclass(frozen=True, slots=True)
class Classification:
    """Each physician's tier, distance and département, in input order."""

    policy: Policy
    patient: Patient
    tiers: np.ndarray  # index into policy.tier_order; -1 when territoriality does not apply
    distance_km: np.ndarray
    departements: np.ndarray  # the code of the département that gave the tier, None when none
    roster_warnings: tuple[RosterWarning, ...]
    worst_tiers: np.ndarray  # differs from `tiers` only for a physician with several possible départements

    @property
    def applicable(self) -> bool:
        return self.patient.applicable

    def tier(self, index: int) -> Tier:
        return self.policy.tier_order[self.tiers[index]] if self.applicable else Tier.NOT_APPLICABLE


@dataclass(frozen=True, slots=True)
class Ranking:
    """The physicians shown, best first, as columns (`shown`: their positions in the request)."""

    classification: Classification
    roster: RosterInput
    shown: np.ndarray

    def columns(self) -> tuple[list[str], list[str], list[bool | None], list[float | None], list[str | None]]:
        """Ids, tiers (their names), territorial flags, distances (km, 0.1) and départements of the
        shown physicians."""
        c, shown = self.classification, self.shown
        ids = [self.roster.ids[i] for i in shown.tolist()]
        departements = c.departements[shown].tolist()
        if not c.applicable:
            count = len(shown)
            return ids, [str(Tier.NOT_APPLICABLE)] * count, [None] * count, [None] * count, departements
        tiers = c.policy.tier_names[c.tiers[shown]].tolist()
        territorial = c.policy.territorial_table[c.tiers[shown]].tolist()
        distances = [None if d != d else d for d in np.round(c.distance_km[shown], 1).tolist()]  # NaN -> None
        return ids, tiers, territorial, distances, departements

    @property
    def ranking(self) -> tuple[RankedPhysician, ...]:
        """The same, one object per physician."""
        ids, tiers, territorial, distances, departements = self.columns()
        rows = zip(range(1, len(self.shown) + 1), self.shown.tolist(), ids, map(Tier, tiers), territorial, distances,
                   departements, strict=True)  # fmt: skip
        return tuple(RankedPhysician(*row) for row in rows)


def classify_roster(geography: Geography, patient: Patient, physicians: Physicians, policy: Policy) -> Classification:
    """Each physician's tier, in input order (`classify_rosters` for one roster)."""
    return classify_rosters(geography, [(patient, as_roster(physicians), policy)])[0]


def classify_rosters(
    geography: Geography, rosters: Sequence[tuple[Patient, RosterInput, Policy]]
) -> list[Classification]:
    """Each physician's tier, roster by roster, in input order; all rosters resolved and tiered at
    once, as one set of arrays (the proposals of many sessions of an audit, or one request's roster).

    A physician given only by a postal code shared by several départements is placed in each of
    them, as a patient is (project rule): his tier is the best they give, `worst_tiers` keeps the
    worst, so that a verdict can tell when the answer hinges on which one is true."""
    if not rosters:
        return []
    sizes = [len(roster) for _, roster, _ in rosters]
    resolved = resolve_roster(geography, _concatenated([roster for _, roster, _ in rosters]))
    owner_roster = np.repeat(np.arange(len(rosters)), sizes)
    distances = _distances([patient for patient, _, _ in rosters], owner_roster, resolved)
    tiers, worst, departements = _tiers(geography, rosters, owner_roster, resolved, distances)
    answer_codes = departement_numbers(geography).answer_codes[departements]
    ends = list(itertools.accumulate(sizes))
    warnings = _warnings_per_roster(resolved.warnings, ends)
    return [
        Classification(policy, patient, tiers[a:b], distances[a:b], answer_codes[a:b], w, worst[a:b])
        for (patient, _, policy), a, b, w in zip(rosters, [0, *ends[:-1]], ends, warnings, strict=True)
    ]


def _tiers(
    geography: Geography,
    rosters: Sequence[tuple[Patient, RosterInput, Policy]],
    owner_roster: np.ndarray,
    resolved: ResolvedRoster,
    distances: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best tier, worst tier and the département of the best, per physician; -1 for the tiers where
    territoriality does not apply. Every possible département of a physician is one row (`choices`)."""
    owner, choices = _choices(resolved)
    choice_roster = owner_roster[owner]
    patients = [
        patient.place.departements if patient.applicable and patient.place else None for patient, _, _ in rosters
    ]
    distinct = list(dict.fromkeys(d for d in patients if d is not None))
    facing = np.array([distinct.index(d) if d is not None else -1 for d in patients], dtype=np.intp)[choice_roster]
    applicable = facing >= 0
    choice_tiers = np.full(len(choices), -1, dtype=np.int64)
    own = np.zeros(len(choices), dtype=bool)
    if distinct:
        roster = Roster.facing(
            [territory_of(geography, d) for d in distinct],
            facing[applicable],
            choices[applicable],
            resolved.located[owner[applicable]],
            distances[owner[applicable]],
        )
        own[applicable] = roster.in_own
        choice_tiers[applicable] = _tiers_by_policy(rosters, choice_roster[applicable], roster)
    if len(choices) == len(resolved.departements):  # one département a physician: the common case
        return choice_tiers, choice_tiers, choices
    starts = np.searchsorted(owner, np.arange(len(resolved.departements)))
    best = np.lexsort((~own, choice_tiers, owner))[starts]  # on a tie, the patient's own département
    worst = np.lexsort((-choice_tiers, owner))[starts]
    return choice_tiers[best], choice_tiers[worst], choices[best]


def _tiers_by_policy(
    rosters: Sequence[tuple[Patient, RosterInput, Policy]], roster_of_row: np.ndarray, roster: Roster
) -> np.ndarray:
    """Each row's tier under its roster's policy: one policy for all, the common case, or each
    policy on its own rows."""
    policies = {policy.name: policy for _, _, policy in rosters}
    if len(policies) == 1:
        [policy] = policies.values()
        return assign_tiers(policy, roster)
    tiers = np.empty(len(roster.located), dtype=np.int64)
    policy_of_row = np.array([policy.name for _, _, policy in rosters])[roster_of_row]
    for name, policy in policies.items():
        rows = policy_of_row == name
        tiers[rows] = assign_tiers(policy, roster.take(rows))
    return tiers


def _choices(resolved: ResolvedRoster) -> tuple[np.ndarray, np.ndarray]:
    """(physician, département) rows: one per physician, several for one placed in several."""
    if not resolved.several:
        return np.arange(len(resolved.departements)), resolved.departements
    options = [resolved.several.get(i, (d,)) for i, d in enumerate(resolved.departements.tolist())]
    owner = np.repeat(np.arange(len(options)), [len(o) for o in options])
    return owner, np.array([d for o in options for d in o], dtype=np.intp)


def _concatenated(rosters: list[RosterInput]) -> RosterInput:
    if len(rosters) == 1:
        return rosters[0]
    return RosterInput(
        [i for r in rosters for i in r.ids],
        [c for r in rosters for c in r.communes],
        [p for r in rosters for p in r.postal_codes],
        [c for r in rosters for c in r.coordinates],
    )


def _warnings_per_roster(warnings: tuple[RosterWarning, ...], ends: list[int]) -> list[tuple[RosterWarning, ...]]:
    """The warnings of the concatenated roster, back to each roster, physicians numbered in it."""
    split: list[list[RosterWarning]] = [[] for _ in ends]
    starts = [0, *ends[:-1]]
    for warning in warnings:
        which = bisect.bisect_right(ends, warning.physician)
        split[which].append(RosterWarning(warning.physician - starts[which], warning.note))
    return [tuple(w) for w in split]


def rank_physicians(
    geography: Geography,
    patient_location: LocationInput | None,
    physicians: Physicians,
    policy: Policy,
    limit: int | None = None,
) -> Ranking:
    roster = as_roster(physicians)
    classification = classify_roster(geography, resolve_patient(geography, patient_location), roster, policy)
    order = territorial_order(classification) if classification.applicable else np.arange(len(roster))
    return Ranking(classification, roster, order[:limit] if limit is not None else order)


def assign_tiers(policy: Policy, roster: Roster) -> np.ndarray:
    """Index of each physician's tier in `policy.tier_order`: the first test he passes."""
    tiers = np.full(len(roster.located), len(policy.tiers) - 1, dtype=np.int64)
    pending = np.ones(len(roster.located), dtype=bool)
    for position, (_, test) in enumerate(policy.tiers[:-1]):  # the last test accepts anyone
        hit = pending & test(roster)
        tiers[hit] = position
        pending &= ~hit
    return tiers


def territorial_order(classification: Classification) -> np.ndarray:
    """Best tier first; inside a tier, nearest first; then input order (a stable sort).

    Distances are compared as shown, to 0.1 km: a commune point is no more precise than that, and
    an auditor can then explain every position from the answer alone."""
    distance = np.round(classification.distance_km, 1)
    return np.lexsort((np.where(np.isnan(distance), np.inf, distance), classification.tiers))


@lru_cache(maxsize=1024)
def territory_of(geography: Geography, departements: tuple[str, ...]) -> Territory:
    """The patient's territory: his département(s), their neighbours, their région(s), the widest
    SAS search radius among them. Built from the geodata only, so kept for the next request."""
    numbers = departement_numbers(geography)
    own = frozenset(departements)
    neighbours = frozenset().union(*(geography.neighbours(d) for d in own)) - own
    regions = {region for d in own if (region := geography.region_of(d)) is not None}
    region_departements = frozenset().union(*(geography.departements_of_region(r) for r in regions))
    radii = [geography.search_radii[d] for d in sorted(own) if d in geography.search_radii]
    widest = max(radii, key=lambda r: (r.default_km, r.enlargement_km), default=None)
    return Territory(
        own=numbers.mask(own),
        neighbours=numbers.mask(neighbours),
        region=numbers.mask(region_departements - own - neighbours),
        radius_km=widest.default_km if widest else 0.0,
        enlargement_km=widest.enlargement_km if widest else 0.0,
    )


def _distances(patients: list[Patient], owner: np.ndarray, resolved: ResolvedRoster) -> np.ndarray:
    """Each physician's distance to his roster's patient (NaN without two points)."""
    points = [p.place.point if p.place is not None else None for p in patients]
    lats = np.array([p.lat if p else np.nan for p in points])
    lons = np.array([p.lon if p else np.nan for p in points])
    if len(points) == 1:  # one patient: no per-physician copy of his point
        return geodesic_km(lats[0], lons[0], resolved.lats, resolved.lons)
    return geodesic_km(lats[owner], lons[owner], resolved.lats, resolved.lons)
