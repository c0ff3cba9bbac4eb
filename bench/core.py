"""The ranking core alone, against the way most would first write it (geopy distances, a sort)."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable

import numpy as np
from geopy.distance import geodesic

from app.geography import Geography
from app.territoriality.locations import LocationInput, Place, resolve_location
from app.territoriality.policies import DEPARTEMENT_V1, Roster
from app.territoriality.ranking import PhysicianInput, assign_tiers, rank_physicians, territory_of
from app.territoriality.roster import departement_numbers

PATIENT = LocationInput(postal_code="69003")


def roster(geography: Geography, size: int, seed: int = 5) -> list[PhysicianInput]:
    rng = random.Random(seed)
    codes = sorted(code for code, c in geography.communes.items() if c.point is not None)
    return [PhysicianInput(f"p{i}", LocationInput(commune=rng.choice(codes))) for i in range(size)]


def median_of(function: Callable[[], object], repeat: int) -> float:
    """Median seconds of `repeat` calls, after one warm-up call."""
    function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def naive_rank(geography: Geography, physicians: list[PhysicianInput]) -> list[str]:
    """Straightforward: resolve each physician, geopy geodesic distance, tier by sets, sorted()."""
    patient = resolve_location(geography, PATIENT)
    assert isinstance(patient, Place)
    assert patient.point is not None
    own = set(patient.departements)
    neighbours = set().union(*(geography.neighbours(d) for d in own))
    region = {geography.region_of(d) for d in own}
    keyed = []
    for index, physician in enumerate(physicians):
        assert physician.location.commune is not None
        commune = geography.communes[physician.location.commune]
        assert commune.point is not None
        dep = commune.departement
        tier = 0 if dep in own else 1 if dep in neighbours else 2 if geography.region_of(dep) in region else 3
        km = geodesic((patient.point.lat, patient.point.lon), (commune.point.lat, commune.point.lon)).km
        keyed.append((tier, km, index, physician.id))
    return [item[3] for item in sorted(keyed)]


def core_only(geography: Geography, physicians: list[PhysicianInput]) -> Callable[[], np.ndarray]:
    """Tiers, distances and the sort on already-resolved physicians: what runs per request after look-ups."""
    from app.geography import geodesic_km

    patient = resolve_location(geography, PATIENT)
    assert isinstance(patient, Place)
    assert patient.point is not None
    patient_point = patient.point
    communes = [geography.communes[str(p.location.commune)] for p in physicians]
    points = [c.point for c in communes]
    assert all(point is not None for point in points)
    numbers = departement_numbers(geography)
    deps = np.array([numbers.number[c.departement] for c in communes])
    lats = np.array([point.lat for point in points if point is not None])
    lons = np.array([point.lon for point in points if point is not None])
    territory = territory_of(geography, patient.departements)
    facing, located = np.zeros(len(deps), dtype=np.intp), np.ones(len(deps), dtype=bool)

    def run() -> np.ndarray:
        distances = geodesic_km(patient_point.lat, patient_point.lon, lats, lons)
        tiers = assign_tiers(DEPARTEMENT_V1, Roster.facing([territory], facing, deps, located, distances))
        return np.lexsort((np.round(distances, 1), tiers))

    return run


def check_agreement(geography: Geography, physicians: list[PhysicianInput]) -> None:
    """Both orders agree, but for physicians whose distances differ by less than the two distance
    formulas do (Lambert's within metres of Karney's): near-ties may swap."""
    ranked = rank_physicians(geography, PATIENT, physicians, DEPARTEMENT_V1).ranking
    naive = naive_rank(geography, physicians)
    for ours, theirs in zip(ranked, naive, strict=True):
        if ours.id != theirs:
            other = next(r for r in ranked if r.id == theirs)
            assert ours.tier == other.tier, (ours, other)
            assert ours.distance_km is not None
            assert other.distance_km is not None
            assert abs(ours.distance_km - other.distance_km) <= 0.1, (ours, other)


def measure(geography: Geography, sizes: tuple[int, ...] = (10, 100, 1_000, 10_000)) -> list[dict[str, float]]:
    rows = []
    for size in sizes:
        physicians = roster(geography, size)
        repeat = 50 if size <= 1_000 else 10
        check_agreement(geography, physicians)
        rows.append({
            "physicians": size,
            "core_ms": median_of(core_only(geography, physicians), repeat) * 1000,
            "rank_physicians_ms": median_of(
                functools.partial(rank_physicians, geography, PATIENT, physicians, DEPARTEMENT_V1), repeat
            ) * 1000,
            "naive_ms": median_of(functools.partial(naive_rank, geography, physicians), max(repeat // 5, 2)) * 1000,
        })  # fmt: skip
    return rows


def coordinates_roster(size: int, seed: int = 6) -> list[PhysicianInput]:
    """Physicians given by coordinates only, scattered over mainland France."""
    from app.geography import Point

    rng = random.Random(seed)
    return [
        PhysicianInput(f"p{i}", LocationInput(coordinates=Point(rng.uniform(43.0, 49.5), rng.uniform(-1.0, 7.0))))
        for i in range(size)
    ]


def measure_coordinates(geography: Geography, sizes: tuple[int, ...] = (100, 1_000, 10_000)) -> list[dict[str, float]]:
    rows = []
    for size in sizes:
        physicians = coordinates_roster(size)
        run = lambda p=physicians: rank_physicians(geography, PATIENT, p, DEPARTEMENT_V1)  # noqa: E731
        rows.append({"physicians": size, "rank_physicians_ms": median_of(run, 10 if size < 10_000 else 3) * 1000})
    return rows
