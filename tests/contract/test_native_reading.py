"""A body is read once, natively (jiter), and its document validated, unless a repeated key, NaN or
a number beyond a double may be in it: then the slow reading (the standard library's parser, then
pydantic reading the JSON itself) answers. Both must give every body the same answer, to the byte:
the same request, or the same refusal with the same wording."""

from __future__ import annotations

import functools
import json
from typing import Any

import pydantic_core
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from app.contract import operations
from app.contract.problems import ProblemError, from_validation_error
from app.contract.requests import AUDIT_BATCH, RANKING_REQUEST, SCENARIO_REQUEST
from app.contract.unique_keys import NOT_A_NUMBER, NOT_READ, read_unique, refuse_duplicate_keys

ADAPTERS: dict[str, TypeAdapter[Any]] = {"ranking": RANKING_REQUEST, "scenario": SCENARIO_REQUEST, "audit": AUDIT_BATCH}
KEYS = [
    "patient", "location", "commune", "postal_code", "coordinates", "lat", "lon", "physicians", "id", "policy",
    "limit", "sessions", "channel", "offers", "with_appointment", "without_appointment", "proposals",
    "information_message_shown", "location_input_offered", "territorial_physician_available", "session_id",
    "timestamp", "k\u00e9", "a",
]  # fmt: skip
NUMBERS = ["0", "-0", "1", "2.0", "45.5", "-1.5e-3", "4e1", "1E2", "1e308", "1e309", "1e999", "-1e999", "NaN",
           "Infinity", "-Infinity", "1" * 400, "0." + "1" * 400, "12345678901234567890", "1" * 308, "-" + "1" * 308,
           "1" * 309, "-" + "9" * 309]  # fmt: skip
STRINGS = ["69003", "13055", "2A004", "1", "", "video", "radius", "departement", "2026-11-20T10:00:00Z", "x" * 70]


def slow(body: bytes, adapter: TypeAdapter[Any]) -> Any:
    """The reading of the last release: the standard library's parser first, then pydantic on the JSON."""
    refuse_duplicate_keys(body)
    try:
        return adapter.validate_json(body)
    except ValidationError as error:
        raise from_validation_error(error) from error


def outcome(read: Any, body: bytes, adapter: TypeAdapter[Any]) -> tuple[str, Any]:
    """The document as the adapter serialises it (an audit's sessions, kept packed, as objects again)."""
    try:
        return "document", pydantic_core.to_json(adapter.dump_python(read(body, adapter)))
    except ProblemError as problem:
        return "refused", problem.body()


def rendered(value: Any) -> str:
    """JSON text, with objects as lists of pairs (so that a key can repeat) and numbers as raw text."""
    if isinstance(value, tuple) and value[0] == "object":
        return "{" + ",".join(f"{json.dumps(k)}:{rendered(v)}" for k, v in value[1]) + "}"
    if isinstance(value, list):
        return "[" + ",".join(rendered(v) for v in value) + "]"
    if isinstance(value, tuple) and value[0] == "number":
        return str(value[1])
    return json.dumps(value)


scalars = (
    st.none()
    | st.booleans()
    | st.sampled_from(STRINGS)
    | st.text(max_size=4)
    | st.tuples(st.just("number"), st.sampled_from(NUMBERS) | st.integers() | st.floats(allow_nan=False))
)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(st.just("object"), st.lists(st.tuples(st.sampled_from(KEYS), inner), max_size=5))
    ),
    max_leaves=25,
)


def mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A valid value nine times in ten, anything else the tenth."""
    return st.integers(0, 9).flatmap(lambda n: valid if n else scalars)


def objects(required: dict[str, st.SearchStrategy[Any]], optional: dict[str, st.SearchStrategy[Any]]) -> Any:
    """Objects with the required fields and some optional ones; now and then one missing, one
    unknown, or one given twice."""
    names = st.lists(st.sampled_from(sorted(optional)), unique=True) if optional else st.just([])
    fields = {**required, **optional}

    def members(chosen: list[str], mishap: int) -> st.SearchStrategy[Any]:
        chosen = [*required, *chosen]
        if mishap == 1 and chosen:
            chosen = chosen[1:]
        elif mishap == 2:
            chosen = [*chosen, "unknown"]
        elif mishap == 3 and chosen:
            chosen = [*chosen, chosen[0]]
        return st.tuples(*(st.tuples(st.just(n), fields.get(n, scalars)) for n in chosen)).map(list)

    mishaps = st.integers(0, 19).map(lambda n: n if n < 4 else 0)
    return st.tuples(st.just("object"), st.tuples(names, mishaps).flatmap(lambda pair: members(*pair)))


numbers = st.tuples(st.just("number"), st.sampled_from(NUMBERS) | st.floats(-200, 200) | st.integers(-5, 20))
coordinates = objects({"lat": numbers, "lon": numbers}, {})
location_fields = {
    "commune": mostly(st.sampled_from(["69003", "13055", "2A004", "75056", " 13055 ", "99999"])),
    "postal_code": mostly(st.sampled_from(["69003", "13001", "20000", "97200"])),
    "coordinates": mostly(coordinates),
}
locations = st.one_of(*(objects({name: value}, location_fields) for name, value in location_fields.items()))
physicians = objects({"id": mostly(st.sampled_from(["a", "b", "c", "x" * 70])), "location": mostly(locations)}, {})
patients = objects({}, {"location": mostly(locations)})
near_rankings = objects(
    {"physicians": mostly(st.lists(mostly(physicians), min_size=1, max_size=4))},
    {"patient": mostly(patients), "policy": mostly(st.sampled_from(["departement", "radius"])),
     "limit": mostly(numbers)},
)  # fmt: skip
offers = objects({"with_appointment": mostly(st.booleans()), "without_appointment": mostly(st.booleans())}, {})
near_scenarios = objects(
    {"channel": mostly(st.sampled_from(["video", "phone", "phone_to_video"])), "offers": mostly(offers),
     "information_message_shown": mostly(st.booleans()), "location_input_offered": mostly(st.booleans())},
    {"patient": mostly(patients), "policy": mostly(st.sampled_from(["departement", "radius"])),
     "proposals": mostly(objects({}, {"with_appointment": st.lists(physicians, max_size=3),
                                      "without_appointment": st.lists(physicians, max_size=3)}))},
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(document=near_rankings)
def test_both_readings_answer_every_near_ranking_alike(document: Any) -> None:
    body = rendered(document).encode()
    assert outcome(operations.parse, body, RANKING_REQUEST) == outcome(slow, body, RANKING_REQUEST)


@settings(max_examples=400, deadline=None)
@given(document=near_scenarios)
def test_both_readings_answer_every_near_scenario_alike(document: Any) -> None:
    body = rendered(document).encode()
    assert outcome(operations.parse, body, SCENARIO_REQUEST) == outcome(slow, body, SCENARIO_REQUEST)


@settings(max_examples=600, deadline=None)
@given(document=documents, which=st.sampled_from(sorted(ADAPTERS)))
def test_both_readings_answer_every_body_alike(document: Any, which: str) -> None:
    body = rendered(document).encode()
    adapter = ADAPTERS[which]
    expected = outcome(slow, body, adapter)
    assert outcome(operations.parse, body, adapter) == expected
    assert outcome(functools.partial(operations.parse, validate_the_text=True), body, adapter) == expected


@pytest.mark.parametrize(
    "body",
    [
        b'{"physicians": {}}',  # an object for an array: "Input should be a valid array", as before
        b'{"physicians": [{"id": "a", "location": []}], "patient": 1}',
        b'{"physicians": [{"id": "a", "location": {"coordinates": {"lat": 1e999, "lon": 0}}}]}',
        b'{"physicians": [{"id": "a", "id": "b", "location": {"commune": "13055"}}]}',
        b'{"physicians": [{"id": "a", "\\u0069d": "b", "location": {"commune": "13055"}}]}',  # "id" escaped
        b'{"physicians": [{"id": "a", "location": {"commune": "13055"}}], "limit": NaN}',
        b'{"physicians": [{"id": "a", "location": {"commune": "13055"}}]} trailing',
        b'\xef\xbb\xbf{"physicians": []}',
        b'{"physicians": [{"id": "\\ud800", "location": {"commune": "13055"}}]}',
        b"[" * 300 + b"]" * 300,
    ],
)
def test_bodies_the_fast_reading_leaves_to_the_slow_one_get_the_same_answer(body: bytes) -> None:
    assert outcome(operations.parse, body, RANKING_REQUEST) == outcome(slow, body, RANKING_REQUEST)


@pytest.mark.parametrize(
    "body",
    [
        b'{"sessions": [{}]}',
        b'{"sessions": [{"session_id": "s1", "x": [1.5, -0.0, 1e-300, 12345678901234567890, "\\u00e9", null]}, {}]}',
        b'{"sessions": [{"a": 1, "a": 2}]}',
        b'{"sessions": [{"a": NaN}]}',
        b'{"sessions": [[], "text", 1, null]}',
    ],
)
def test_both_readings_answer_audit_batches_alike(body: bytes) -> None:
    expected = outcome(slow, body, AUDIT_BATCH)
    assert outcome(operations.parse, body, AUDIT_BATCH) == expected
    assert outcome(functools.partial(operations.parse, validate_the_text=True), body, AUDIT_BATCH) == expected
    if expected[0] == "document":  # the sessions, packed and serialised again, are the body's
        assert json.loads(expected[1]) == json.loads(body)


@pytest.mark.parametrize(
    ("body", "fast"),
    [
        (b'{"a": 45.5, "b": [1, 2.5e-3]}', True),
        (b'{"a": 1, "a": 2}', False),  # the slow reading names the key and its pointer
        (b'{"a": NaN}', False),
        (b'{"a": 1e999}', False),  # jiter would read infinity
        (b'{"a": 1e5}', False),  # a positive exponent may exceed a double
        (b'{"a": ' + b"1" * 309 + b".5}", False),
        (b"not json", False),
    ],
)
def test_what_the_fast_reading_settles(body: bytes, fast: bool) -> None:
    assert (read_unique(body) is not NOT_READ) is fast


def test_a_number_beyond_a_double_inside_an_audited_session_refuses_the_batch(
    reference: operations.Reference,
) -> None:
    """A session is any JSON object to the batch's schema, where jiter's infinity would pass: the
    body is refused as the slow reading always refused it."""
    body = b'{"sessions": [{"session_id": "s", "patient": {"location": {"coordinates": {"lat": 1e999, "lon": 2}}}}]}'
    with pytest.raises(ProblemError) as caught:
        operations.audit(reference, body)
    assert caught.value.status == 400
    assert caught.value.body()["type"] == "urn:territorialite:problem:malformed-json"
    assert outcome(operations.parse, body, AUDIT_BATCH) == outcome(slow, body, AUDIT_BATCH)


@pytest.mark.parametrize(
    ("number", "refused"),
    [
        (b"2" + b"0" * 308, True),  # 2e308 written out
        (b"-2" + b"0" * 308, True),
        (b"9" * 5_000, True),  # more digits than Python reads
        (b"17976931348623157" + b"0" * 292, False),  # a double's maximum written out: 309 digits
        (b"1" + b"0" * 308, False),  # 1e308 written out
        (b"1" + b"0" * 307, False),
    ],
    ids=["2e308", "-2e308", "5,000 digits", "the maximum", "1e308", "1e307"],
)
def test_an_integer_beyond_a_double_is_refused_as_its_exponent_form_is(number: bytes, refused: bool) -> None:
    """2e308 was refused and 2 followed by 308 zeros accepted: one number, two answers. A double's
    range is the contract's, however the number is written."""
    body = b'{"physicians": [{"id": "a", "location": {"commune": "13055"}}], "limit": ' + number + b"}"
    with pytest.raises(ProblemError) as caught:
        operations.parse(body, RANKING_REQUEST)
    said = caught.value.body()
    if refused:
        assert (said["status"], said["detail"]) == (400, NOT_A_NUMBER)
    else:
        assert (said["status"], said["errors"]) == (
            422,
            [{"pointer": "/limit", "detail": "Input should be less than or equal to 10000"}],
        )
    assert outcome(operations.parse, body, RANKING_REQUEST) == outcome(slow, body, RANKING_REQUEST)


@pytest.mark.parametrize("limit", [b"", b', "limit": 1e1'], ids=["read by jiter", "checked first"])
def test_no_value_of_a_request_outlives_it_in_a_string_cache(limit: bytes) -> None:
    """pydantic (and jiter) keep the strings they read in a process-wide cache unless told to keep
    only keys: two requests giving the same postal code would then share one string object."""
    body = (
        b'{"patient": {"location": {"postal_code": "38118"}}, '
        b'"physicians": [{"id": "p1", "location": {"commune": "13055"}}]' + limit + b"}"
    )
    first, second = (operations.parse(body, RANKING_REQUEST) for _ in range(2))
    assert first["patient"]["location"]["postal_code"] == "38118"  # type: ignore[index]
    assert first["patient"]["location"]["postal_code"] is not second["patient"]["location"]["postal_code"]  # type: ignore[index]
    assert first["physicians"][0]["id"] is not second["physicians"][0]["id"]


def test_the_check_counts_the_members_of_the_root_object() -> None:
    assert refuse_duplicate_keys(b'{"a": 1, "b": {"c": 2, "d": 3, "e": 4}}') == 2
    assert refuse_duplicate_keys(b' \n {"a": 1}') == 1
    assert refuse_duplicate_keys(b"[1, 2, 3]") == 0
    assert refuse_duplicate_keys(b"5000") == 0  # a number, not a count
    assert refuse_duplicate_keys(b"{not json") == 0
