"""Request bodies, validated by pydantic. They mirror openapi.yaml's schemas; tests check the two agree.

The bodies are TypedDicts checked by pydantic's TypeAdapter (strict: no coercion, no unknown
field), the fastest form pydantic offers: validation builds plain dicts and lists, which the
functions below turn into the domain's columns in one pass.
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    GetPydanticSchema,
    StringConstraints,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic import with_config as pydantic_config
from pydantic_core import core_schema
from typing_extensions import TypedDict

from app.contract.bounded import request_adapter
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
from app.territoriality.ranking import RosterInput
from app.territoriality.scenarios import OFFERS, Channel, Offer, Offers, Scenario

CommuneCode = Annotated[str, StringConstraints(pattern=r"^ *(?:[0-9]{5}|2[ABab][0-9]{3}) *$")]
PostalCodeText = Annotated[str, StringConstraints(pattern=r"^ *[0-9]{5} *$")]
PhysicianId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PHYSICIAN_ID_LENGTH)]
SessionId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SESSION_ID_LENGTH)]
if TYPE_CHECKING:
    PolicyName = str
else:  # the names of app.territoriality.policies.POLICIES (openapi.yaml lists them too: test_vocabulary)
    PolicyName = Literal[tuple(POLICIES)]

# No coercion (no "1" for 1, no true for 1.0) and no unknown field: the schema, to the letter.
strict = pydantic_config(ConfigDict(extra="forbid", strict=True))


def _whole_number(value: Any) -> Any:
    """JSON Schema counts 2.0 as an integer; strict pydantic would not. Booleans stay refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]

# RFC 3339, section 5.6: date-time = full-date "T" full-time, with a Z or a ±hh:mm offset ("T" and
# "Z" may be lower case, as its note says).
RFC3339_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.[0-9]+)?"
    r"(?P<offset>[Zz]|[+-](?P<offset_hour>[0-9]{2}):(?P<offset_minute>[0-9]{2}))"
)
NOT_RFC3339 = "give an RFC 3339 date-time with its offset, such as 2026-11-20T10:00:00+01:00"
# The ranges of RFC 3339's section 5.6 (second 60 only where a leap second is inserted, 5.7), said
# in words of their own: pydantic says "unexpected extra characters" for each, which blames the text.
TIME_PARTS = {"hour": ("hour", 23), "minute": ("minute", 59), "offset_hour": ("offset's hour", 23),
              "offset_minute": ("offset's minute", 59)}  # fmt: skip
# Python's datetime has no second 60: a leap second cannot be represented (nor told from an impossible
# time without a table of leap seconds).
SECOND_60 = "second 60 is not accepted (RFC 3339 allows it for a leap second only): give seconds 00 to 59"


class UnknownLocalOffset(tzinfo):
    """The time in UTC known, the offset to local time not: "Z" (RFC 9557, section 2.2, which
    updates RFC 3339's section 4.3) or "-00:00" (RFC 3339's own way: RFC 9557 prefers Z but does not
    deprecate it), both unlike "+00:00", which implies UTC is the preferred reference point. Read as
    UTC and written back as Z (a lower-case z too) or -00:00 as it came, so that an answer never
    claims a local offset the session did not state."""

    def __init__(self, written: str) -> None:
        self.written = written

    def utcoffset(self, moment: datetime | None) -> timedelta:
        return timedelta(0)

    def dst(self, moment: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, moment: datetime | None) -> str:
        return self.written

    def __getinitargs__(self) -> tuple[str]:  # tzinfo.__reduce__ asks for it: pickle and copy work
        return (self.written,)

    def __repr__(self) -> str:
        return f"UnknownLocalOffset({self.written!r})"


UNKNOWN_LOCAL_OFFSETS = {
    "Z": UnknownLocalOffset("Z"),
    "z": UnknownLocalOffset("Z"),
    "-00:00": UnknownLocalOffset("-00:00"),
}


def _rfc3339(value: Any, read: ValidatorFunctionWrapHandler) -> datetime:
    """Only RFC 3339 text: pydantic alone also reads numbers (0 is 1970) and other ISO 8601 shapes."""
    shape = RFC3339_DATE_TIME.fullmatch(value) if isinstance(value, str) else None
    if shape is None:
        raise ValueError(NOT_RFC3339)
    _refuse_out_of_range(shape)
    moment: datetime = read(value)
    unknown = UNKNOWN_LOCAL_OFFSETS.get(shape["offset"])
    return moment if unknown is None else moment.replace(tzinfo=unknown)


def _refuse_out_of_range(shape: re.Match[str]) -> None:
    for part, (name, highest) in TIME_PARTS.items():
        if shape[part] is not None and int(shape[part]) > highest:
            raise ValueError(f"the {name} is {shape[part]}: RFC 3339 allows 00 to {highest}")
    second = int(shape["second"])
    if second == 60:
        raise ValueError(SECOND_60)
    if second > 60:
        raise ValueError(f"the second is {shape['second']}: RFC 3339 allows 00 to 59, and 60 for a leap second")


Timestamp = Annotated[AwareDatetime, WrapValidator(_rfc3339)]


@strict
class Coordinates(TypedDict):
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


@strict
class LocationFields(TypedDict):
    commune: NotRequired[CommuneCode | None]
    postal_code: NotRequired[PostalCodeText | None]
    coordinates: NotRequired[Coordinates | None]


def _at_least_one_field(location: LocationFields) -> LocationFields:
    if location.get("commune") is None and location.get("postal_code") is None and location.get("coordinates") is None:
        raise ValueError("give at least one of commune, postal_code, coordinates")
    return location


Location = Annotated[LocationFields, AfterValidator(_at_least_one_field)]


@strict
class Patient(TypedDict):
    location: NotRequired[Location | None]  # absent or null: the patient declined to give it


@strict
class Physician(TypedDict):
    id: PhysicianId
    location: Location


@strict
class RankingRequest(TypedDict):
    patient: NotRequired[Patient | None]
    physicians: Annotated[list[Physician], Field(min_length=1, max_length=MAX_PHYSICIANS)]
    policy: NotRequired[PolicyName]
    limit: NotRequired[Annotated[WholeNumber | None, Field(ge=1, le=MAX_PHYSICIANS)]]


def _something_offered(offers: OffersFields) -> OffersFields:
    if not (offers["with_appointment"] or offers["without_appointment"]):
        raise ValueError("offer at least one of with_appointment, without_appointment")
    return offers


@strict
class OffersFields(TypedDict):
    with_appointment: bool
    without_appointment: bool
    without_appointment_only_after_appointments: NotRequired[bool]


ProposalList = Annotated[list[Physician], Field(max_length=MAX_PROPOSALS)]


@strict
class Proposals(TypedDict):
    with_appointment: NotRequired[ProposalList | None]
    without_appointment: NotRequired[ProposalList | None]


@strict
class Availability(TypedDict):
    """Per offer: was a physician of the patient's territory available at that time? Absent: unknown."""

    with_appointment: NotRequired[bool | None]
    without_appointment: NotRequired[bool | None]


@strict
class ScenarioRequest(TypedDict):
    channel: Literal["video", "phone", "phone_to_video"]
    offers: Annotated[OffersFields, AfterValidator(_something_offered)]
    information_message_shown: bool
    location_input_offered: bool
    patient: NotRequired[Patient | None]
    proposals: NotRequired[Proposals | None]
    territorial_physician_available: NotRequired[Availability | None]
    policy: NotRequired[PolicyName]


@strict
class RecordedSession(ScenarioRequest):
    """A recorded booking session: the scenario fields, plus its id and when it happened."""

    session_id: SessionId
    timestamp: Annotated[Timestamp, Field(strict=False, description="RFC 3339 with a time zone")]


def packed(session: dict[str, Any]) -> bytes:
    """A session kept as bytes (marshal's, made and read in this process only) until it is judged.
    The 1,000 sessions of a 2 MB batch as Python objects are 22 MB of small objects alive together
    while the batch is judged (tracemalloc), and a few objects made meanwhile and kept (a cache
    entry) each hold a 1 MiB block of Python's allocator that the worker cannot give back. Packed,
    they are 1.5 MB of bytes (1.7 MB traced), unpacked a judging batch at a time."""
    return marshal.dumps(session)


def unpacked(session: bytes) -> dict[str, Any]:
    """The session `packed` made: exactly the value pydantic read (marshal keeps every float, any
    integer, any string), never bytes a client sent."""
    value: dict[str, Any] = marshal.loads(session)  # noqa: S302 (bytes this process made, see above)
    return value


# Validated as an object (a dict of any members), then packed; serialised as the object again.
PackedSession = Annotated[
    bytes,
    GetPydanticSchema(
        lambda _, handler: core_schema.no_info_after_validator_function(
            packed, handler(dict[str, Any]), serialization=core_schema.plain_serializer_function_ser_schema(unpacked)
        )
    ),
]


@strict
class AuditBatch(TypedDict):
    """Each session must be an object; as a session, each is validated later, one by one, so that one
    malformed session is reported as invalid and does not sink the batch."""

    sessions: Annotated[list[PackedSession], Field(min_length=1, max_length=MAX_SESSIONS_PER_AUDIT)]


RANKING_REQUEST = request_adapter(RankingRequest)
SCENARIO_REQUEST = request_adapter(ScenarioRequest)
RECORDED_SESSION = request_adapter(RecordedSession)
AUDIT_BATCH = request_adapter(AuditBatch)


def location_input(location: LocationFields) -> LocationInput:
    coordinates = location.get("coordinates")
    point = Point(coordinates["lat"], coordinates["lon"]) if coordinates else None
    return LocationInput(location.get("commune"), location.get("postal_code"), point)


def patient_location(request: RankingRequest | ScenarioRequest) -> LocationInput | None:
    """None when the patient declined to give his location (no patient, or a null location)."""
    return location_of(request.get("patient"))


def location_of(patient: Patient | None) -> LocationInput | None:
    location = (patient or {}).get("location")
    return location_input(location) if location is not None else None


def roster_of(physicians: Sequence[Physician]) -> RosterInput:
    """The physicians as the domain's columns (a comprehension a column: the fastest Python has)."""
    locations = [physician["location"] for physician in physicians]
    coordinates = [location.get("coordinates") for location in locations]
    points: list[Point | None] = (
        [Point(c["lat"], c["lon"]) if c else None for c in coordinates] if any(coordinates) else [None] * len(locations)
    )
    return RosterInput(
        [physician["id"] for physician in physicians],
        [location.get("commune") for location in locations],
        [location.get("postal_code") for location in locations],
        points,
    )


def policy_name(request: RankingRequest | ScenarioRequest) -> str:
    return request.get("policy", DEFAULT_POLICY)


def duplicate_id_errors(ids: Sequence[str], prefix: str) -> list[FieldError]:
    """An error for every id seen before in the list."""
    if len(set(ids)) == len(ids):
        return []
    first_seen: dict[str, int] = {}
    errors = []
    for index, identifier in enumerate(ids):
        if identifier in first_seen:
            first = first_seen[identifier]
            errors.append(FieldError(f"{prefix}/{index}/id", f"duplicate id, first given at {prefix}/{first}/id"))
        else:
            first_seen[identifier] = index
    return errors


def scenario_consistency_errors(request: ScenarioRequest, prefix: str = "") -> list[FieldError]:
    """Proposals or availability for an offer not offered, and duplicate ids inside a list; `prefix`
    locates this request in a bigger document (a session of an audit)."""
    errors: list[FieldError] = []
    offers = request["offers"]
    stated = stated_availability(request)
    for offer in OFFERS:
        if offer in stated and not offers[offer.value]:
            detail = f"availability stated for {offer}, which is not offered"
            errors.append(FieldError(prefix + pointer("territorial_physician_available", offer), detail))
    for offer, shown in proposals_of(request).items():
        if not offers[offer.value]:
            detail = f"proposals given for {offer}, which is not offered"
            errors.append(FieldError(prefix + pointer("proposals", offer), detail))
        errors.extend(duplicate_id_errors([p["id"] for p in shown], prefix + pointer("proposals", offer)))
    return errors


def proposals_of(request: ScenarioRequest) -> dict[Offer, list[Physician]]:
    """The proposal lists given, per offer."""
    given: Mapping[str, Any] = request.get("proposals") or {}
    return {offer: shown for offer in OFFERS if (shown := given.get(offer)) is not None}


def stated_availability(request: ScenarioRequest) -> dict[Offer, bool]:
    stated: Mapping[str, Any] = request.get("territorial_physician_available") or {}
    return {offer: value for offer in OFFERS if (value := stated.get(offer)) is not None}


def scenario_of(request: ScenarioRequest) -> Scenario:
    proposals = None
    if request.get("proposals") is not None:
        proposals = {offer: roster_of(shown) for offer, shown in proposals_of(request).items()}
    offers = request["offers"]
    return Scenario(
        channel=Channel(request["channel"]),
        offers=Offers(
            offers["with_appointment"],
            offers["without_appointment"],
            offers.get("without_appointment_only_after_appointments", False),
        ),
        information_message_shown=request["information_message_shown"],
        location_input_offered=request["location_input_offered"],
        patient_location=patient_location(request),
        location_stated="location" in (request.get("patient") or {}),
        proposals=proposals,
        policy=get_policy(policy_name(request)),
        territorial_physician_available=stated_availability(request),
    )
