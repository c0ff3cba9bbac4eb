"""Ranking policies: the tiers a physician can fall in, best first, and how each is recognised.

Public sources (ETHT.02, ANS FAQ) require "un médecin du territoire" first but define no
territory; these policies are this project's choices (territoriality.md §3), named and versioned
so that every answer says which one produced it. Rules are data: a policy is an ordered list of
(tier, test); a physician takes the first tier whose test he passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray


class Tier(StrEnum):
    SAME_DEPARTEMENT = "same_departement"
    WITHIN_RADIUS = "within_radius"
    WITHIN_ENLARGED_RADIUS = "within_enlarged_radius"
    ADJACENT_DEPARTEMENT = "adjacent_departement"
    SAME_REGION = "same_region"
    OUTSIDE_TERRITORY = "outside_territory"
    UNLOCATED = "unlocated"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True)
class Territory:
    """One patient's side of the comparison, prepared once per patient. Masks are indexed by
    département number (app/territoriality/roster.py: DepartementNumbers)."""

    own: NDArray[np.bool_]  # the patient's département(s)
    neighbours: NDArray[np.bool_]  # bordering them, not theirs
    region: NDArray[np.bool_]  # the same région, neither theirs nor bordering
    radius_km: float  # SAS default search radius; 0 means none
    enlargement_km: float


@dataclass(frozen=True, slots=True)
class Roster:
    """One row per physician (and per possible département of one), each facing his patient's
    territory: a request's roster, or the proposals of many sessions judged at once."""

    in_own: NDArray[np.bool_]
    in_neighbour: NDArray[np.bool_]
    in_region: NDArray[np.bool_]
    located: NDArray[np.bool_]
    distance_km: NDArray[np.float64]  # NaN when unknown
    radius_km: NDArray[np.float64]  # the patient's SAS radius; 0 means none
    enlargement_km: NDArray[np.float64]

    @classmethod
    def facing(
        cls,
        territories: list[Territory],
        territory: NDArray[np.intp],
        departements: NDArray[np.intp],
        located: NDArray[np.bool_],
        distance_km: NDArray[np.float64],
    ) -> Roster:
        """Rows whose physician is in département `departements[i]` and whose patient has territory
        `territories[territory[i]]`."""
        if len(territories) == 1:  # one patient: his masks directly
            [one] = territories
            count = len(departements)
            return cls(
                one.own[departements],
                one.neighbours[departements],
                one.region[departements],
                located,
                np.where(np.isnan(distance_km), np.inf, distance_km),
                np.full(count, one.radius_km),
                np.full(count, one.enlargement_km),
            )
        radius = np.array([t.radius_km for t in territories])[territory]
        return cls(
            in_own=np.stack([t.own for t in territories])[territory, departements],
            in_neighbour=np.stack([t.neighbours for t in territories])[territory, departements],
            in_region=np.stack([t.region for t in territories])[territory, departements],
            located=located,
            distance_km=np.where(np.isnan(distance_km), np.inf, distance_km),
            radius_km=radius,
            enlargement_km=np.array([t.enlargement_km for t in territories])[territory],
        )

    def take(self, rows: NDArray[np.bool_]) -> Roster:
        return Roster(
            self.in_own[rows],
            self.in_neighbour[rows],
            self.in_region[rows],
            self.located[rows],
            self.distance_km[rows],
            self.radius_km[rows],
            self.enlargement_km[rows],
        )


TierTest = Callable[[Roster], NDArray[np.bool_]]


def in_patient_departement(roster: Roster) -> NDArray[np.bool_]:
    return roster.in_own


def in_adjacent_departement(roster: Roster) -> NDArray[np.bool_]:
    return roster.in_neighbour


def in_patient_region(roster: Roster) -> NDArray[np.bool_]:
    return roster.in_region


def within_search_radius(roster: Roster) -> NDArray[np.bool_]:
    return roster.in_own | ((roster.distance_km <= roster.radius_km) & (roster.radius_km > 0))


def within_enlarged_radius(roster: Roster) -> NDArray[np.bool_]:
    reach = roster.radius_km + roster.enlargement_km
    return (roster.distance_km <= reach) & (reach > 0)


def located(roster: Roster) -> NDArray[np.bool_]:
    return roster.located


def anyone(roster: Roster) -> NDArray[np.bool_]:
    return np.ones(len(roster.located), dtype=bool)


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    version: str
    summary: str
    tiers: tuple[tuple[Tier, TierTest], ...]  # best first; the last test accepts anyone
    territorial: frozenset[Tier]  # tiers that count as "un médecin du territoire"
    # derived once: the tiers in order, and as arrays to gather a whole ranking's tiers with
    tier_order: tuple[Tier, ...] = field(init=False)
    tier_table: NDArray[np.object_] = field(init=False)
    tier_names: NDArray[np.object_] = field(init=False)
    territorial_table: NDArray[np.bool_] = field(init=False)

    def __post_init__(self) -> None:
        order = tuple(tier for tier, _ in self.tiers)
        object.__setattr__(self, "tier_order", order)
        object.__setattr__(self, "tier_table", np.array(order, dtype=object))
        # the same as plain text, for answers: serialising an enum member costs a Python call
        object.__setattr__(self, "tier_names", np.array([str(t) for t in order], dtype=object))
        object.__setattr__(self, "territorial_table", np.array([t in self.territorial for t in order]))


DEPARTEMENT_V1 = Policy(
    name="departement",
    version="1",
    summary="The territory is the patient's département, then bordering départements, the same région, "
    "the rest of France. A project choice: no public text defines the territory; statements in Parliament "
    "point to the département as what the health insurance looks at (docs/territoriality.md).",
    tiers=(
        (Tier.SAME_DEPARTEMENT, in_patient_departement),
        (Tier.ADJACENT_DEPARTEMENT, in_adjacent_departement),
        (Tier.SAME_REGION, in_patient_region),
        (Tier.OUTSIDE_TERRITORY, located),
        (Tier.UNLOCATED, anyone),
    ),
    territorial=frozenset({Tier.SAME_DEPARTEMENT}),
)

RADIUS_V1 = Policy(
    name="radius",
    version="1",
    summary="The territory is the patient's département or the default search radius ANS's SAS search "
    "engine uses for it (2025 figures); then radius plus enlargement, bordering départements, the same "
    "région, the rest of France. A project choice, closer to how ANS's own engine searches.",
    tiers=(
        (Tier.WITHIN_RADIUS, within_search_radius),
        (Tier.WITHIN_ENLARGED_RADIUS, within_enlarged_radius),
        (Tier.ADJACENT_DEPARTEMENT, in_adjacent_departement),
        (Tier.SAME_REGION, in_patient_region),
        (Tier.OUTSIDE_TERRITORY, located),
        (Tier.UNLOCATED, anyone),
    ),
    territorial=frozenset({Tier.WITHIN_RADIUS}),
)

POLICIES: dict[str, Policy] = {p.name: p for p in (DEPARTEMENT_V1, RADIUS_V1)}
DEFAULT_POLICY = DEPARTEMENT_V1.name


class UnknownPolicyError(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown policy {name!r}; known policies: {', '.join(sorted(POLICIES))}")


def get_policy(name: str) -> Policy:
    try:
        return POLICIES[name]
    except KeyError:
        raise UnknownPolicyError(name) from None
