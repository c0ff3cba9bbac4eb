"""The physicians' side of the ranking engine: a roster as columns in, arrays out.

A roster arrives as columns (ids, commune codes, postal codes, coordinates). Bare commune codes, the
common case, resolve in bulk to rows of a table built once from the geodata; anything else (postal
codes, coordinates, pairs, unknown codes) goes through `resolve_location` one physician at a time:
the same rule, the table being only its precomputed answers. The engine then works on arrays:
département numbers, points, located or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

from app.geography import Geography, Point
from app.territoriality.locations import (
    LocationField,
    LocationInput,
    LocationNote,
    Place,
    Unresolved,
    WarningCode,
    commune_places,
    resolve_location,
)


@dataclass(frozen=True, slots=True)
class PhysicianInput:
    id: str
    location: LocationInput


@dataclass(frozen=True, slots=True)
class RosterInput:
    """The physicians of a request, as columns in input order."""

    ids: Sequence[str]
    communes: Sequence[str | None]
    postal_codes: Sequence[str | None]
    coordinates: Sequence[Point | None]

    @classmethod
    def of(cls, physicians: Sequence[PhysicianInput]) -> RosterInput:
        return cls(
            [p.id for p in physicians],
            [p.location.commune for p in physicians],
            [p.location.postal_code for p in physicians],
            [p.location.coordinates for p in physicians],
        )

    def __len__(self) -> int:
        return len(self.ids)

    def location(self, index: int) -> LocationInput:
        return LocationInput(self.communes[index], self.postal_codes[index], self.coordinates[index])


Physicians = RosterInput | Sequence[PhysicianInput]


def as_roster(physicians: Physicians) -> RosterInput:
    """A roster as columns, whether it came as columns or one physician at a time."""
    return physicians if isinstance(physicians, RosterInput) else RosterInput.of(physicians)


@dataclass(frozen=True, slots=True)
class RosterWarning:
    """Something about one physician's location the answer had to work around (an unknown code...)."""

    physician: int  # position in the roster
    note: LocationNote


@dataclass(frozen=True, eq=False)
class DepartementNumbers:
    """Départements numbered once, so that a roster's départements are an integer array; the last
    number stands for none (a physician unlocated, or abroad)."""

    codes: tuple[str, ...]
    number: dict[str, int]
    answer_codes: NDArray[np.object_]  # number -> the code to answer, None for none

    @property
    def none(self) -> int:
        return len(self.codes)

    def mask(self, codes: Iterable[str]) -> NDArray[np.bool_]:
        """True at the numbers of these départements."""
        mask = np.zeros(len(self.codes) + 1, dtype=bool)
        mask[[self.number[c] for c in codes if c in self.number]] = True
        return mask


@cache
def departement_numbers(geography: Geography) -> DepartementNumbers:
    codes = tuple(sorted(geography.departements))
    return DepartementNumbers(codes, {c: i for i, c in enumerate(codes)}, np.array([*codes, None], dtype=object))


@dataclass(frozen=True, eq=False)
class CommuneRows:
    """The place of every commune code as typed canonically (current, arrondissement, old), as rows
    of arrays; built once from the geodata, it holds nothing a request brought."""

    row: dict[str, int]
    departement: NDArray[np.intp]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    notes: tuple[tuple[LocationNote, ...], ...]
    has_notes: NDArray[np.bool_]


@cache
def commune_rows(geography: Geography) -> CommuneRows:
    numbers = departement_numbers(geography)
    places = [(code, place) for code, place in commune_places(geography).items() if len(place.departements) == 1]
    points = [place.point for _, place in places]
    return CommuneRows(
        row={code: i for i, (code, _) in enumerate(places)},
        departement=np.array([numbers.number[p.departements[0]] for _, p in places], dtype=np.intp),
        lat=np.array([p.lat if p else np.nan for p in points], dtype=np.float64),
        lon=np.array([p.lon if p else np.nan for p in points], dtype=np.float64),
        notes=tuple(place.notes for _, place in places),
        has_notes=np.array([bool(place.notes) for _, place in places], dtype=bool),
    )


@dataclass(frozen=True, slots=True)
class ResolvedRoster:
    """Each physician's département (number), point and whether he could be located, in input order."""

    departements: NDArray[np.intp]  # `none` when unlocated or abroad
    located: NDArray[np.bool_]
    lats: NDArray[np.float64]  # NaN without a point
    lons: NDArray[np.float64]
    several: dict[int, tuple[int, ...]]  # physicians placed in several départements: their numbers
    warnings: tuple[RosterWarning, ...]


def resolve_roster(geography: Geography, roster: RosterInput) -> ResolvedRoster:
    """Bare commune codes by table rows, in bulk; every other physician by `resolve_location`."""
    table, numbers = commune_rows(geography), departement_numbers(geography)
    get = table.row.get
    if any(roster.postal_codes) or any(roster.coordinates):
        codes = roster.communes
        rows = np.array(
            [
                get(commune, -1) if postal is None and point is None else -1  # type: ignore[arg-type]
                for commune, postal, point in zip(codes, roster.postal_codes, roster.coordinates, strict=True)
            ],
            dtype=np.intp,
        )
    else:  # codes only, the common case (a None code gets -1)
        rows = np.array([get(commune, -1) for commune in roster.communes], dtype=np.intp)  # type: ignore[arg-type]
    by_row = rows >= 0
    departements = np.where(by_row, table.departement[rows], numbers.none)
    lats = np.where(by_row, table.lat[rows], np.nan)
    lons = np.where(by_row, table.lon[rows], np.nan)
    located = by_row.copy()
    warnings = [(int(i), note) for i in np.flatnonzero(by_row & table.has_notes[rows]) for note in table.notes[rows[i]]]
    by_point = _coordinates_only(roster) & ~by_row
    if by_point.any():
        _locate_in_bulk(geography, roster, np.flatnonzero(by_point), departements, lats, lons, located, warnings)
    others = np.flatnonzero(~by_row & ~by_point).tolist()
    several: dict[int, tuple[int, ...]] = {}
    if others:
        places = _resolve_others(geography, roster, others)
        for index, place in zip(others, places, strict=True):
            warnings.extend((index, note) for note in _notes(place))
            if isinstance(place, Unresolved):
                continue
            located[index] = True
            if place.point is not None:
                lats[index], lons[index] = place.point.lat, place.point.lon
            if len(place.departements) == 1:
                departements[index] = numbers.number[place.departements[0]]
            elif place.departements:
                several[index] = tuple(numbers.number[d] for d in place.departements)
                departements[index] = several[index][0]
    warnings.sort(key=lambda pair: pair[0])  # stable: each physician's own warnings keep their order
    return ResolvedRoster(
        departements, located, lats, lons, several, tuple(RosterWarning(i, note) for i, note in warnings)
    )


def _coordinates_only(roster: RosterInput) -> NDArray[np.bool_]:
    if not any(roster.coordinates):
        return np.zeros(len(roster), dtype=bool)
    return np.array(
        [c is None and p is None and point is not None
         for c, p, point in zip(roster.communes, roster.postal_codes, roster.coordinates, strict=True)],
        dtype=bool,
    )  # fmt: skip


def _locate_in_bulk(
    geography: Geography,
    roster: RosterInput,
    indices: NDArray[np.intp],
    departements: NDArray[np.intp],
    lats: NDArray[np.float64],
    lons: NDArray[np.float64],
    located: NDArray[np.bool_],
    warnings: list[tuple[int, LocationNote]],
) -> None:
    """Physicians given by coordinates alone, placed as `resolve_location` places them (the locator's
    nearest commune point decides the département), on arrays: no object per physician."""
    points = [roster.coordinates[i] for i in indices.tolist()]
    lats[indices] = [p.lat for p in points if p is not None]
    lons[indices] = [p.lon for p in points if p is not None]
    communes, _ = geography.locator.communes_at(lats[indices], lons[indices])
    departements[indices] = np.where(communes >= 0, commune_point_numbers(geography)[communes], departements[indices])
    located[indices] = True
    detail = "the physician's coordinates lie outside France"
    abroad = LocationNote(LocationField.COORDINATES, WarningCode.PHYSICIAN_OUTSIDE_FRANCE, detail)
    warnings.extend((int(i), abroad) for i in indices[communes < 0])


@cache
def commune_point_numbers(geography: Geography) -> NDArray[np.intp]:
    """The département number of each of the locator's commune points."""
    numbers = departement_numbers(geography)
    return np.array([numbers.number[d] for d in geography.locator.communes.departements], dtype=np.intp)


def _resolve_others(geography: Geography, roster: RosterInput, indices: list[int]) -> list[Place | Unresolved]:
    """`resolve_location` for these physicians, their coordinates located all at once, each distinct point once."""
    points = list(dict.fromkeys(p for i in indices if (p := roster.coordinates[i]) is not None))
    located = dict(zip(points, geography.locate_many(points), strict=True))
    return [
        resolve_location(
            geography, roster.location(i), located.get(point) if (point := roster.coordinates[i]) else None
        )
        for i in indices
    ]


def _notes(place: Place | Unresolved) -> list[LocationNote]:
    """What the answer says of one physician's location, in this order."""
    if isinstance(place, Unresolved):
        return [LocationNote(place.field, WarningCode.PHYSICIAN_UNLOCATED, f"{place.detail}; ranked last as unlocated")]
    notes = []
    if not place.in_france:
        detail = "the physician's coordinates lie outside France"
        notes.append(LocationNote(LocationField.COORDINATES, WarningCode.PHYSICIAN_OUTSIDE_FRANCE, detail))
    if len(place.departements) > 1:
        notes.append(_several_departements(place))
    return [*notes, *place.notes]


def _several_departements(place: Place) -> LocationNote:
    codes = ", ".join(place.departements)
    detail = (
        f"the postal code serves communes of several départements ({codes}); the physician is placed in "
        "each, as a patient would be, and ranks by the best of them; give the commune code to decide"
    )
    return LocationNote(LocationField.POSTAL_CODE, WarningCode.SEVERAL_DEPARTEMENTS, detail)
