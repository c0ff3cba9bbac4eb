"""The contract layer in-process: typed locations of the domain become JSON pointers here, and only here."""

from __future__ import annotations

import copy
import json
import pickle
from datetime import datetime, timedelta, timezone
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st
from pydantic import TypeAdapter

from app.contract import operations
from app.contract.audits import isoformat
from app.contract.problems import FieldError, ProblemError, pointer
from app.contract.requests import Timestamp


def body(document: object) -> bytes:
    return json.dumps(document).encode()


def test_pointers_escape_as_rfc_6901_says() -> None:
    assert pointer("a/b", "m~n", 0) == "/a~1b/m~0n/0"
    assert pointer() == ""
    assert FieldError("/patient", "x").under("/sessions/2") == FieldError("/sessions/2/patient", "x")


def test_warnings_point_at_the_patient_and_at_each_physician(reference: operations.Reference) -> None:
    ranked, size = operations.rank(
        reference,
        body(
            {
                "patient": {"location": {"commune": "01003"}},  # an old code of a merged commune
                "physicians": [
                    {"id": "a", "location": {"commune": "13055"}},
                    {"id": "b", "location": {"commune": "99999"}},
                ],
            }
        ),
    )
    answer: dict[str, Any] = ranked
    assert size == 2
    assert [(w["pointer"], w["code"]) for w in answer["warnings"]] == [
        ("/patient/location/commune", "old_commune_code"),
        ("/physicians/1/location/commune", "physician_unlocated"),
    ]


def test_scenario_warnings_point_into_the_offer_s_proposals(reference: operations.Reference) -> None:
    answer: dict[str, Any] = operations.evaluate(
        reference,
        body(
            {
                "channel": "video",
                "offers": {"with_appointment": False, "without_appointment": True},
                "information_message_shown": True,
                "location_input_offered": True,
                "patient": {"location": {"postal_code": "13001"}},
                "proposals": {"without_appointment": [{"id": "x", "location": {"postal_code": "99999"}}]},
            }
        ),
    )
    assert [w["pointer"] for w in answer["warnings"]] == ["/proposals/without_appointment/0/location/postal_code"]


def test_an_unknown_patient_code_is_a_problem_naming_the_field(reference: operations.Reference) -> None:
    with pytest.raises(ProblemError) as refusal:
        operations.rank(reference, body({"patient": {"location": {"postal_code": "99999"}}, "physicians": [
            {"id": "a", "location": {"commune": "13055"}}
        ]}))  # fmt: skip
    assert refusal.value.status == 422
    assert refusal.value.errors == [FieldError("/patient/location/postal_code", refusal.value.errors[0].detail)]


def test_an_invalid_session_of_an_audit_is_located_in_the_batch(reference: operations.Reference) -> None:
    answer: dict[str, Any] = operations.audit(reference, body({"sessions": [{"session_id": "s1"}]}))
    [session] = answer["sessions"]
    assert session["status"] == "invalid"
    assert {e["pointer"] for e in session["errors"]} >= {"/sessions/0/timestamp", "/sessions/0/channel"}


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(
    moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    offset=st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)),
    aware=st.booleans(),
)
def test_a_timestamp_is_written_as_isoformat_writes_it(moment: datetime, offset: timedelta, aware: bool) -> None:
    moment = moment.replace(tzinfo=timezone(offset)) if aware else moment
    assert isoformat(moment) == moment.isoformat()


def test_a_validated_timestamp_is_written_as_isoformat_writes_it() -> None:
    for text in ("2026-11-20T10:00:00+00:00", "2026-11-20T10:00:00.123+05:45", "2026-11-20T10:00:00-09:30"):
        moment = TypeAdapter(Timestamp).validate_python(text)
        assert isoformat(moment) == moment.isoformat()


def test_an_unknown_local_offset_is_written_as_it_came() -> None:
    for text, written in (
        ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00Z"),
        ("2026-11-20t10:00:00.5z", "2026-11-20T10:00:00.500000Z"),
        ("2026-11-20T10:00:00-00:00", "2026-11-20T10:00:00-00:00"),
    ):
        moment = TypeAdapter(Timestamp).validate_python(text)
        assert moment.utcoffset() == timedelta(0)
        assert isoformat(moment) == written
        assert isoformat(pickle.loads(pickle.dumps(moment))) == isoformat(copy.deepcopy(moment)) == written
