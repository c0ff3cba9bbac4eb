"""Request bodies, validated by pydantic. They mirror openapi.yaml's schemas; tests check the two agree."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from app.contract.limits import (
    MAX_PHYSICIAN_ID_LENGTH,
    MAX_PHYSICIANS,
    MAX_PROPOSALS,
    MAX_SESSION_ID_LENGTH,
    MAX_SESSIONS_PER_AUDIT,
)
from app.contract.problems import FieldError, pointer
from app.geography import Point
from app.territoriality.locations import LocationInput
from app.territoriality.policies import DEFAULT_POLICY, POLICIES, get_policy
from app.territoriality.ranking import PhysicianInput
from app.territoriality.scenarios import Channel, Offer, Offers, Scenario

CommuneCode = Annotated[str, StringConstraints(pattern=r"^ *(?:[0-9]{5}|2[ABab][0-9]{3}) *$")]
PostalCodeText = Annotated[str, StringConstraints(pattern=r"^ *[0-9]{5} *$")]
PhysicianId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PHYSICIAN_ID_LENGTH)]
SessionId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SESSION_ID_LENGTH)]
if TYPE_CHECKING:
    PolicyName = str
else:  # the names of app.territoriality.policies.POLICIES: adding a policy there is enough
    PolicyName = Literal[tuple(POLICIES)]


def _whole_number(value: Any) -> Any:
    """JSON Schema counts 2.0 as an integer; strict pydantic would not. Booleans stay refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]

# RFC 3339, section 5.6: date-time = full-date "T" full-time, with a Z or a ±hh:mm offset ("T" and
# "Z" may be lower case, as its note says).
RFC3339_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _rfc3339_text(value: Any) -> Any:
    """Only RFC 3339 text: pydantic alone also reads numbers (0 is 1970) and other ISO 8601 shapes."""
    if not isinstance(value, str) or not RFC3339_DATE_TIME.fullmatch(value):
        raise ValueError("give an RFC 3339 date-time with its offset, such as 2026-11-20T10:00:00+01:00")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]


class Strict(BaseModel):
    """No coercion (no "1" for 1, no true for 1.0) and no unknown field: the schema, to the letter."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Coordinates(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Location(Strict):
    commune: CommuneCode | None = None
    postal_code: PostalCodeText | None = None
    coordinates: Coordinates | None = None

    @model_validator(mode="after")
    def at_least_one_field(self) -> Self:
        if self.commune is None and self.postal_code is None and self.coordinates is None:
            raise ValueError("give at least one of commune, postal_code, coordinates")
        return self

    def to_domain(self) -> LocationInput:
        point = Point(self.coordinates.lat, self.coordinates.lon) if self.coordinates else None
        return LocationInput(self.commune, self.postal_code, point)


class Patient(Strict):
    location: Location | None = None  # absent or null: the patient declined to give it


def location_of(patient: Patient | None) -> LocationInput | None:
    """None when the patient declined to give his location (no patient, or a null location)."""
    if patient is None or patient.location is None:
        return None
    return patient.location.to_domain()


class Physician(Strict):
    id: PhysicianId
    location: Location

    def to_domain(self) -> PhysicianInput:
        return PhysicianInput(self.id, self.location.to_domain())


class RankingRequest(Strict):
    patient: Patient | None = None
    physicians: list[Physician] = Field(min_length=1, max_length=MAX_PHYSICIANS)
    policy: PolicyName = DEFAULT_POLICY
    limit: WholeNumber | None = Field(default=None, ge=1, le=MAX_PHYSICIANS)

    def patient_location(self) -> LocationInput | None:
        return location_of(self.patient)

    def consistency_errors(self) -> list[FieldError]:
        """Physician ids must be unique."""
        return duplicate_id_errors([p.id for p in self.physicians], pointer("physicians"))


def duplicate_id_errors(ids: list[str], prefix: str) -> list[FieldError]:
    """An error for every id seen before in the list."""
    first_seen: dict[str, int] = {}
    errors = []
    for index, identifier in enumerate(ids):
        if identifier in first_seen:
            first = first_seen[identifier]
            errors.append(FieldError(f"{prefix}/{index}/id", f"duplicate id, first given at {prefix}/{first}/id"))
        else:
            first_seen[identifier] = index
    return errors


class OffersModel(Strict):
    with_appointment: bool
    without_appointment: bool
    without_appointment_only_after_appointments: bool = False

    @model_validator(mode="after")
    def something_offered(self) -> Self:
        if not (self.with_appointment or self.without_appointment):
            raise ValueError("offer at least one of with_appointment, without_appointment")
        return self


class Proposals(Strict):
    with_appointment: list[Physician] | None = Field(default=None, max_length=MAX_PROPOSALS)
    without_appointment: list[Physician] | None = Field(default=None, max_length=MAX_PROPOSALS)


class ScenarioRequest(Strict):
    channel: Literal["video", "phone", "phone_to_video"]
    offers: OffersModel
    information_message_shown: bool
    location_input_offered: bool
    patient: Patient | None = None
    proposals: Proposals | None = None
    policy: PolicyName = DEFAULT_POLICY

    def patient_location(self) -> LocationInput | None:
        return location_of(self.patient)

    def consistency_errors(self, prefix: str = "") -> list[FieldError]:
        """Proposals for an offer not offered, and duplicate ids inside a list; `prefix` locates this
        request in a bigger document (a session of an audit)."""
        errors: list[FieldError] = []
        if self.proposals is None:
            return errors
        for offer in Offer:
            shown = getattr(self.proposals, offer.value)
            if shown is None:
                continue
            if not getattr(self.offers, offer.value):
                detail = f"proposals given for {offer}, which is not offered"
                errors.append(FieldError(prefix + pointer("proposals", offer), detail))
            errors.extend(duplicate_id_errors([p.id for p in shown], prefix + pointer("proposals", offer)))
        return errors

    def to_domain(self) -> Scenario:
        proposals = None
        if self.proposals is not None:
            proposals = {
                offer: [p.to_domain() for p in shown]
                for offer in Offer
                if (shown := getattr(self.proposals, offer.value)) is not None
            }
        return Scenario(
            channel=Channel(self.channel),
            offers=Offers(
                self.offers.with_appointment,
                self.offers.without_appointment,
                self.offers.without_appointment_only_after_appointments,
            ),
            information_message_shown=self.information_message_shown,
            location_input_offered=self.location_input_offered,
            patient_location=self.patient_location(),
            proposals=proposals,
            policy=get_policy(self.policy),
        )


class RecordedSession(ScenarioRequest):
    """A recorded booking session: the scenario fields, plus its id and when it happened."""

    session_id: SessionId
    timestamp: Timestamp = Field(strict=False, description="RFC 3339 with a time zone")


class AuditBatch(Strict):
    """Sessions are validated one by one, so that one malformed session does not sink the batch."""

    sessions: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_SESSIONS_PER_AUDIT)
