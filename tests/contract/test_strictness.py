"""A reference does not guess: timestamps are RFC 3339 text only, and a key given twice is refused."""

from __future__ import annotations

import json

import pytest

from app.contract import operations
from app.contract.problems import ProblemError
from app.contract.requests import RANKING_REQUEST
from app.contract.unique_keys import refuse_duplicate_keys

SESSION = {
    "session_id": "s",
    "channel": "video",
    "offers": {"with_appointment": True, "without_appointment": False},
    "information_message_shown": True,
    "location_input_offered": True,
}


def judged(reference: operations.Reference, timestamp: object) -> dict:
    answer = operations.audit(reference, json.dumps({"sessions": [{**SESSION, "timestamp": timestamp}]}).encode())
    return answer["sessions"][0]  # type: ignore[index]


@pytest.mark.parametrize(
    ("timestamp", "read_as"),
    [
        # Z and -00:00: the time in UTC known, the local offset not (RFC 9557 s.2, RFC 3339 s.4.3),
        # unlike +00:00: each written back as it came
        ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00Z"),
        ("2026-11-20T10:00:00.5+01:00", "2026-11-20T10:00:00.500000+01:00"),
        ("2026-11-20t10:00:00z", "2026-11-20T10:00:00Z"),  # RFC 3339 5.6: T and Z may be lower case
        ("2026-11-20T10:00:00-00:00", "2026-11-20T10:00:00-00:00"),
        ("2026-11-20T23:30:00.25-00:00", "2026-11-20T23:30:00.250000-00:00"),
        ("2026-11-20T10:00:00+00:00", "2026-11-20T10:00:00+00:00"),
        ("2026-11-20T10:00:00-00:30", "2026-11-20T10:00:00-00:30"),
    ],
)
def test_rfc3339_timestamps_are_read(reference: operations.Reference, timestamp: str, read_as: str) -> None:
    session = judged(reference, timestamp)
    assert session["status"] == "judged"
    assert session["timestamp"] == read_as


@pytest.mark.parametrize(
    "timestamp",
    [0, 253402300800, 1.5e9, True, "0", "1700000000", "2026-11-20 10:00:00Z", "2026-11-20T10:00Z",
     "2026-11-20T10:00:00+0100", "2026-11-20T10:00:00", "2026-11-20", "yesterday", None],
)  # fmt: skip
def test_anything_else_is_an_invalid_session(reference: operations.Reference, timestamp: object) -> None:
    session = judged(reference, timestamp)
    assert session["status"] == "invalid"
    assert session["errors"] == [
        {
            "pointer": "/sessions/0/timestamp",
            "detail": "give an RFC 3339 date-time with its offset, such as 2026-11-20T10:00:00+01:00",
        }
    ]


def test_an_unknown_local_offset_counts_on_the_day_written(reference: operations.Reference) -> None:
    sessions = [{**SESSION, "session_id": f"s{n}", "timestamp": t}
                for n, t in enumerate(["2026-11-20T23:30:00-00:00", "2026-11-21T00:30:00Z"])]  # fmt: skip
    answer = operations.audit(reference, json.dumps({"sessions": sessions}).encode())
    assert list(answer["summary"]["per_day"]) == ["2026-11-20", "2026-11-21"]  # type: ignore[index]


SECOND_60 = "second 60 is not accepted (RFC 3339 allows it for a leap second only): give seconds 00 to 59"


@pytest.mark.parametrize(
    ("timestamp", "detail"),
    [
        ("2016-12-31T23:59:60Z", SECOND_60),
        ("2026-11-20T10:00:60.5+01:00", SECOND_60),
        ("2026-11-20T10:00:61Z", "the second is 61: RFC 3339 allows 00 to 59, and 60 for a leap second"),
        ("2026-11-20T24:00:00Z", "the hour is 24: RFC 3339 allows 00 to 23"),
        ("2026-11-20T10:60:00Z", "the minute is 60: RFC 3339 allows 00 to 59"),
        ("2026-11-20T10:00:00+24:00", "the offset's hour is 24: RFC 3339 allows 00 to 23"),
        ("2026-11-20T10:00:00-00:60", "the offset's minute is 60: RFC 3339 allows 00 to 59"),
    ],
)  # fmt: skip
def test_a_time_out_of_rfc3339_s_ranges_is_named(reference: operations.Reference, timestamp: str, detail: str) -> None:
    """RFC 3339, section 5.6's ranges, each said in words of its own (pydantic's would be "unexpected
    extra characters at the end of the input"); second 60, a leap second's, cannot be represented."""
    session = judged(reference, timestamp)
    assert session["status"] == "invalid"
    assert session["errors"] == [{"pointer": "/sessions/0/timestamp", "detail": detail}]


def test_the_highest_values_of_each_range_are_read(reference: operations.Reference) -> None:
    assert judged(reference, "2026-11-20T23:59:59.999999+23:59")["timestamp"] == "2026-11-20T23:59:59.999999+23:59"


def refused(body: bytes) -> dict[str, object]:
    with pytest.raises(ProblemError) as caught:
        refuse_duplicate_keys(body)
    assert caught.value.status == 400
    return caught.value.body()


def test_a_repeated_key_is_refused_with_its_pointer() -> None:
    body = b'{"physicians": [{"id": "a", "location": {"commune": "13055"}}, {"id": "b", "id": "c"}]}'
    problem = refused(body)
    assert problem["type"] == "urn:territorialite:problem:duplicate-key"
    assert problem["errors"] == [
        {"pointer": "/physicians/1/id", "detail": "the key 'id' appears more than once in this object"}
    ]


def test_the_first_repeated_key_in_the_document_is_named() -> None:
    body = b'{"a": [{"x": 1}, {"y": {"k~/": 1, "k~/": 2}}], "b": {"z": 1, "z": 2}}'
    assert refused(body)["errors"] == [
        {"pointer": "/a/1/y/k~0~1", "detail": "the key 'k~/' appears more than once in this object"}
    ]


@pytest.mark.parametrize("body", [b'{"a": 1, "b": {"a": 1}}', b"[1, 1]", b"not json", b"[" * 100_000])
def test_no_repeated_key_no_refusal(body: bytes) -> None:
    refuse_duplicate_keys(body)


def test_a_repeated_key_inside_one_session_refuses_the_whole_audit(reference: operations.Reference) -> None:
    session = json.dumps({**SESSION, "timestamp": "2026-11-20T10:00:00Z"})
    body = ('{"sessions": [' + session[:-1] + ', "channel": "phone"}]}').encode()
    with pytest.raises(ProblemError) as caught:
        operations.audit(reference, body)
    assert caught.value.errors[0].pointer == "/sessions/0/channel"


def test_a_key_repeated_before_the_body_stops_being_json_is_malformed_json() -> None:
    """The repeated key is met first, but a body that is not JSON has no keys to speak of (this
    was an uncaught error, a 500, until the differential test of the two readings found it)."""
    with pytest.raises(ProblemError) as caught:
        operations.parse(b'{"patient": {"a": 1, "a": 2}, "physicians": x}', RANKING_REQUEST)
    assert caught.value.status == 400
    assert caught.value.body()["type"] == "urn:territorialite:problem:malformed-json"
