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
    """The patient's side of the comparison, prepared once per request."""

    departements: frozenset[str]
    neighbours: frozenset[str]
    region_departements: frozenset[str]
    radius_km: float  # SAS default search radius; 0 means none
    enlargement_km: float


@dataclass(frozen=True)
class Roster:
    """The physicians' side, as parallel arrays (one entry per physician, input order)."""

    departements: NDArray[np.str_]  # "" when unknown or abroad
    located: NDArray[np.bool_]
    distance_km: NDArray[np.float64]  # NaN when unknown
    # the few distinct départements of a roster, and each physician's position among them
    distinct_departements: list[str] = field(init=False)
    departement_index: NDArray[np.intp] = field(init=False)

    def __post_init__(self) -> None:
        unique, inverse = np.unique(self.departements, return_inverse=True)
        object.__setattr__(self, "distinct_departements", unique.tolist())
        object.__setattr__(self, "departement_index", inverse)


TierTest = Callable[[Territory, Roster], NDArray[np.bool_]]


def _in(codes: frozenset[str], roster: Roster) -> NDArray[np.bool_]:
    return np.array([code in codes for code in roster.distinct_departements], dtype=bool)[roster.departement_index]


def in_patient_departement(territory: Territory, roster: Roster) -> NDArray[np.bool_]:
    return _in(territory.departements, roster)


def in_adjacent_departement(territory: Territory, roster: Roster) -> NDArray[np.bool_]:
    return _in(territory.neighbours, roster)


def in_patient_region(territory: Territory, roster: Roster) -> NDArray[np.bool_]:
    return _in(territory.region_departements, roster)


def within_search_radius(territory: Territory, roster: Roster) -> NDArray[np.bool_]:
    near = np.nan_to_num(roster.distance_km, nan=np.inf) <= territory.radius_km
    return in_patient_departement(territory, roster) | (near & (territory.radius_km > 0))


def within_enlarged_radius(territory: Territory, roster: Roster) -> NDArray[np.bool_]:
    reach = territory.radius_km + territory.enlargement_km
    return (np.nan_to_num(roster.distance_km, nan=np.inf) <= reach) & (reach > 0)


def located(territory: Territory, roster: Roster) -> NDArray[np.bool_]:
    return roster.located


def anyone(territory: Territory, roster: Roster) -> NDArray[np.bool_]:
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
    territorial_table: NDArray[np.bool_] = field(init=False)

    def __post_init__(self) -> None:
        order = tuple(tier for tier, _ in self.tiers)
        object.__setattr__(self, "tier_order", order)
        object.__setattr__(self, "tier_table", np.array(order, dtype=object))
        object.__setattr__(self, "territorial_table", np.array([t in self.territorial for t in order]))


DEPARTEMENT_V1 = Policy(
    name="departement",
    version="1",
    summary="The territory is the patient's département, then bordering départements, the same région, "
    "the rest of France. A project choice: no public text defines the territory; two public reports "
    "suggest the département is what the Assurance Maladie looks at (docs/territoriality.md).",
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
