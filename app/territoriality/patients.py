"""The patient's side of territoriality: where he is, or why territoriality does not apply to him."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.geography import Geography
from app.territoriality.locations import (
    LocationField,
    LocationInput,
    LocationNote,
    Place,
    Unresolved,
    WarningCode,
    resolve_location,
)


class NotApplicableReason(StrEnum):
    PATIENT_LOCATION_MISSING = "patient_location_missing"
    PATIENT_OUTSIDE_FRANCE = "patient_outside_france"


@dataclass(frozen=True, slots=True)
class Patient:
    """The patient's side, resolved once per request."""

    place: Place | None
    not_applicable: NotApplicableReason | None
    notes: tuple[LocationNote, ...]  # what his location had to be read around (an old code...)

    @property
    def applicable(self) -> bool:
        return self.not_applicable is None


class PatientLocationError(ValueError):
    """The patient's code does not exist: a typo must never silently turn territoriality off."""

    def __init__(self, unresolved: Unresolved) -> None:
        super().__init__(unresolved.detail)
        self.unresolved = unresolved

    @property
    def field(self) -> LocationField:
        return self.unresolved.field


def resolve_patient(geography: Geography, location: LocationInput | None) -> Patient:
    """The patient's place, or why territoriality does not apply; PatientLocationError on an unknown code."""
    if location is None:
        return Patient(None, NotApplicableReason.PATIENT_LOCATION_MISSING, ())
    place = resolve_location(geography, location)
    if isinstance(place, Unresolved):
        raise PatientLocationError(place)
    reason = None if place.in_france else NotApplicableReason.PATIENT_OUTSIDE_FRANCE
    return Patient(place, reason, (*_several_departements(place), *place.notes))


def _several_departements(place: Place) -> tuple[LocationNote, ...]:
    if len(place.departements) < 2:
        return ()
    detail = (
        f"the postal code serves communes of several départements ({', '.join(place.departements)}); the "
        "patient's territory is taken as their union; give the commune code to decide"
    )
    return (LocationNote(LocationField.POSTAL_CODE, WarningCode.SEVERAL_DEPARTEMENTS, detail),)
