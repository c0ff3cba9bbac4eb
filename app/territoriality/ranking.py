"""ETHT.02: put the physicians of the patient's territory first.

One engine, two uses: `rank_physicians` orders a roster (POST /v1/rankings), `classify_roster`
gives each physician of a roster, in the order shown, its tier (the scenario ordering check).
The core works on numpy arrays: tiers by the policy's ordered tests, then one lexsort on
(tier, distance, input position).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.geography import Geography, geodesic_km
from app.territoriality.locations import (
    LocationField,
    LocationInput,
    LocationNote,
    Place,
    Unresolved,
    resolve_location,
)
from app.territoriality.patients import Patient, resolve_patient
from app.territoriality.policies import Policy, Roster, Territory, Tier


@dataclass(frozen=True, slots=True)
class PhysicianInput:
    id: str
    location: LocationInput


@dataclass(frozen=True, slots=True)
class RosterWarning:
    """Something about one physician's location the answer had to work around (an unknown code...)."""

    physician: int  # position in the roster
    note: LocationNote


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
    departements: np.ndarray
    roster_warnings: tuple[RosterWarning, ...]
    worst_tiers: np.ndarray  # differs from `tiers` only for a physician with several possible départements

    @property
    def applicable(self) -> bool:
        return self.patient.applicable

    def tier(self, index: int) -> Tier:
        return self.policy.tier_order[self.tiers[index]] if self.applicable else Tier.NOT_APPLICABLE


@dataclass(frozen=True, slots=True)
class Ranking:
    classification: Classification
    ranking: tuple[RankedPhysician, ...]


def classify_roster(
    geography: Geography,
    patient: Patient,
    physicians: Sequence[PhysicianInput],
    policy: Policy,
) -> Classification:
    """Each physician's tier, in input order.

    A physician given only by a postal code shared by several départements is placed in each of
    them, as a patient is (project rule): his tier is the best they give, `worst_tiers` keeps the
    worst, so that a verdict can tell when the answer hinges on which one is true."""
    places, roster_warnings = _physician_places(geography, physicians)
    options = [p.departements if p is not None and p.in_france else ("",) for p in places]
    distances = _distances(patient.place, places)
    if not patient.applicable:
        tiers = np.full(len(physicians), -1, dtype=np.int64)
        departements = np.array([o[0] for o in options], dtype=np.str_)
        return Classification(policy, patient, tiers, distances, departements, roster_warnings, tiers)
    assert patient.place is not None
    territory = territory_of(geography, patient.place)
    located = np.array([p is not None for p in places], dtype=bool)
    if all(len(o) == 1 for o in options):
        departements = np.array([o[0] for o in options], dtype=np.str_)
        tiers = assign_tiers(policy, territory, Roster(departements, located, distances))
        return Classification(policy, patient, tiers, distances, departements, roster_warnings, tiers)
    return _classify_with_choices(policy, patient, territory, options, located, distances, roster_warnings)


def _classify_with_choices(
    policy: Policy,
    patient: Patient,
    territory: Territory,
    options: list[tuple[str, ...]],
    located: np.ndarray,
    distances: np.ndarray,
    roster_warnings: tuple[RosterWarning, ...],
) -> Classification:
    """Tiers when some physicians have several possible départements: every option is tiered, then
    each physician keeps his best (and his worst, apart), and the département that gave the best."""
    counts = np.array([len(o) for o in options], dtype=np.intp)
    owner = np.repeat(np.arange(len(options)), counts)
    choices = np.array([d for o in options for d in o], dtype=np.str_)
    choice_tiers = assign_tiers(policy, territory, Roster(choices, located[owner], distances[owner]))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    elsewhere = ~np.isin(choices, list(territory.departements))  # on a tie, the patient's own département
    best = np.lexsort((elsewhere, choice_tiers, owner))[starts]  # owner groups are contiguous: best first
    worst = np.lexsort((-choice_tiers, owner))[starts]
    return Classification(
        policy, patient, choice_tiers[best], distances, choices[best], roster_warnings, choice_tiers[worst]
    )


def rank_physicians(
    geography: Geography,
    patient_location: LocationInput | None,
    physicians: Sequence[PhysicianInput],
    policy: Policy,
    limit: int | None = None,
) -> Ranking:
    classification = classify_roster(geography, resolve_patient(geography, patient_location), physicians, policy)
    order = territorial_order(classification) if classification.applicable else np.arange(len(physicians))
    shown = order[:limit] if limit is not None else order
    return Ranking(classification, _ranked(classification, physicians, shown))


def assign_tiers(policy: Policy, territory: Territory, roster: Roster) -> np.ndarray:
    """Index of each physician's tier in `policy.tier_order`: the first test he passes."""
    tiers = np.full(len(roster.located), len(policy.tiers) - 1, dtype=np.int64)
    pending = np.ones(len(roster.located), dtype=bool)
    for position, (_, test) in enumerate(policy.tiers):
        hit = pending & test(territory, roster)
        tiers[hit] = position
        pending &= ~hit
    return tiers


def territorial_order(classification: Classification) -> np.ndarray:
    """Best tier first; inside a tier, nearest first; then input order (a stable sort).

    Distances are compared as shown, to 0.1 km: a commune point is no more precise than that, and
    an auditor can then explain every position from the answer alone."""
    distance = np.nan_to_num(np.round(classification.distance_km, 1), nan=np.inf)
    return np.lexsort((np.arange(len(distance)), distance, classification.tiers))


def territory_of(geography: Geography, patient: Place) -> Territory:
    own = frozenset(patient.departements)
    neighbours = frozenset().union(*(geography.neighbours(d) for d in own)) - own
    regions = {region for d in own if (region := geography.region_of(d)) is not None}
    region_departements = frozenset().union(*(geography.departements_of_region(r) for r in regions))
    radii = [geography.search_radii[d] for d in sorted(own) if d in geography.search_radii]
    widest = max(radii, key=lambda r: (r.default_km, r.enlargement_km), default=None)
    return Territory(
        departements=own,
        neighbours=neighbours,
        region_departements=region_departements - own - neighbours,
        radius_km=widest.default_km if widest else 0.0,
        enlargement_km=widest.enlargement_km if widest else 0.0,
    )


def _physician_places(
    geography: Geography, physicians: Sequence[PhysicianInput]
) -> tuple[list[Place | None], tuple[RosterWarning, ...]]:
    """Resolve each physician. Codes resolve by look-up; points are located all at once, by
    vectorised geometry, each distinct point once."""
    points = list(dict.fromkeys(p.location.coordinates for p in physicians if p.location.coordinates is not None))
    located = dict(zip(points, geography.locate_many(points), strict=True))
    places: list[Place | None] = []
    warnings: list[RosterWarning] = []
    for index, physician in enumerate(physicians):
        location = physician.location
        coordinates = location.coordinates
        place = resolve_location(geography, location, located[coordinates] if coordinates is not None else None)
        if isinstance(place, Unresolved):
            places.append(None)
            note = LocationNote(place.field, "physician_unlocated", f"{place.detail}; ranked last as unlocated")
            warnings.append(RosterWarning(index, note))
            continue
        places.append(place)
        if not place.in_france:
            note = LocationNote(
                LocationField.COORDINATES, "physician_outside_france", "the physician's coordinates lie outside France"
            )
            warnings.append(RosterWarning(index, note))
        if len(place.departements) > 1:
            warnings.append(RosterWarning(index, _several_departements(place)))
        warnings.extend(RosterWarning(index, note) for note in place.notes)
    return places, tuple(warnings)


def _several_departements(place: Place) -> LocationNote:
    codes = ", ".join(place.departements)
    detail = (
        f"the postal code serves communes of several départements ({codes}); the physician is placed in "
        "each, as a patient would be, and ranks by the best of them; give the commune code to decide"
    )
    return LocationNote(LocationField.POSTAL_CODE, "several_departements", detail)


def _distances(patient: Place | None, places: list[Place | None]) -> np.ndarray:
    lats = np.array([p.point.lat if p and p.point else np.nan for p in places], dtype=np.float64)
    lons = np.array([p.point.lon if p and p.point else np.nan for p in places], dtype=np.float64)
    if patient is None or patient.point is None:
        return np.full(len(places), np.nan)
    return geodesic_km(patient.point.lat, patient.point.lon, lats, lons)


def _ranked(
    classification: Classification, physicians: Sequence[PhysicianInput], shown: np.ndarray
) -> tuple[RankedPhysician, ...]:
    """The shown physicians, best first; the per-row values are gathered with numpy first."""
    count = len(shown)
    if classification.applicable:
        policy = classification.policy
        tiers = policy.tier_table[classification.tiers[shown]].tolist()
        territorial: list[bool | None] = policy.territorial_table[classification.tiers[shown]].tolist()
        distance = np.round(classification.distance_km[shown], 1)
        distances: list[float | None] = [None if d != d else d for d in distance.tolist()]  # NaN -> None
    else:
        tiers = [Tier.NOT_APPLICABLE] * count
        territorial = [None] * count
        distances = [None] * count
    departements = [d or None for d in classification.departements[shown].tolist()]
    return tuple(
        RankedPhysician(rank, index, physicians[index].id, tier, flag, km, dep)
        for rank, index, tier, flag, km, dep in zip(
            range(1, count + 1), shown.tolist(), tiers, territorial, distances, departements, strict=True
        )
    )
