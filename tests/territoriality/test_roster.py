"""The roster resolver's fast paths (table rows for bare commune codes, points located in bulk) give
exactly what `resolve_location`, the rule, gives one physician at a time."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from app.geography import Point
from app.territoriality.locations import LocationInput, Place, Unresolved, resolve_location
from app.territoriality.roster import RosterInput, departement_numbers, resolve_roster
from tests.geography.shared import GEOGRAPHY

CODES = sorted(GEOGRAPHY.communes)
OLD_CODES = sorted(GEOGRAPHY.aliases)
POSTAL_CODES = sorted(GEOGRAPHY.postal_codes)

communes = st.one_of(
    st.sampled_from(CODES), st.sampled_from(OLD_CODES), st.sampled_from(["99999", " 2a004 ", "13 055"])
)
points = st.builds(Point, st.floats(40.5, 51.5), st.floats(-6.0, 10.5))
locations = st.one_of(
    communes.map(lambda c: LocationInput(commune=c)),
    st.sampled_from(POSTAL_CODES).map(lambda p: LocationInput(postal_code=p)),
    points.map(lambda p: LocationInput(coordinates=p)),
    st.builds(LocationInput, communes, st.sampled_from(POSTAL_CODES), st.none() | points),
)


@given(st.lists(locations, min_size=1, max_size=30))
def test_the_resolver_in_bulk_is_the_rule_one_at_a_time(physicians: list[LocationInput]) -> None:
    roster = RosterInput(
        [f"p{i}" for i in range(len(physicians))],
        [p.commune for p in physicians],
        [p.postal_code for p in physicians],
        [p.coordinates for p in physicians],
    )
    resolved = resolve_roster(GEOGRAPHY, roster)
    numbers = departement_numbers(GEOGRAPHY)
    for index, location in enumerate(physicians):
        place = resolve_location(GEOGRAPHY, location)
        notes = [w.note for w in resolved.warnings if w.physician == index]
        if isinstance(place, Unresolved):
            assert not resolved.located[index]
            assert [n.code for n in notes] == ["physician_unlocated"]
            continue
        assert isinstance(place, Place)
        assert resolved.located[index]
        possible = resolved.several.get(index, (int(resolved.departements[index]),))
        assert tuple(numbers.codes[n] for n in possible if n != numbers.none) == place.departements
        if place.point is None:
            assert math.isnan(resolved.lats[index])
        else:
            assert (resolved.lats[index], resolved.lons[index]) == (place.point.lat, place.point.lon)
        assert [n for n in notes if n.code not in {"physician_outside_france", "several_departements"}] == list(
            place.notes
        )
