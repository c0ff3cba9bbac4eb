"""A big body is validated in parts (app.contract.bounded), so that no worker holds every error of a
2 MB body at once. The parts must give every body the answer the whole validation gives: the same
document, or the same first errors in the same order and the same count. Here the parts are made
tiny (lists cut every item or two, objects trimmed past three unknown members) so that small bodies
take every path; then real bodies, past the size where the service cuts, are compared to the byte.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pydantic_core
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from app.contract import operations
from app.contract.bounded import AS_OBJECTS, BOUNDED_FROM, NATIVE, Reading, validated
from app.contract.problems import ProblemError, from_validation_error
from app.contract.requests import AUDIT_BATCH, RANKING_REQUEST, RECORDED_SESSION, SCENARIO_REQUEST
from app.contract.unique_keys import NOT_READ, read_unique
from tests.contract.test_native_reading import near_rankings, near_scenarios, rendered, scalars

LISTED = 3  # errors listed, and unknown members kept per object, in the tiny parts


def answer(problem: ProblemError) -> tuple[Any, ...]:
    return ("refused", problem.kind, [(e.pointer, e.detail) for e in problem.errors[:LISTED]], problem.error_count)


def whole(adapter: TypeAdapter[Any], document: Any, reading: Reading) -> tuple[Any, ...]:
    """The oracle: pydantic validating the whole document (or text) at once."""
    try:
        value = reading.validate_whole(adapter, document)
    except ValidationError as error:
        return answer(from_validation_error(error, reading.rewords))
    return "document", pydantic_core.to_json(adapter.dump_python(value))


def in_parts(adapter: TypeAdapter[Any], document: Any, reading: Reading, slice_size: int) -> tuple[Any, ...]:
    try:
        value = validated(adapter, document, reading, listed=LISTED, keep=LISTED, slice_size=slice_size)
    except ProblemError as problem:
        return answer(problem)
    return "document", pydantic_core.to_json(adapter.dump_python(value))


def with_unknown_members(document: Any) -> st.SearchStrategy[Any]:
    """The document with, in some of its objects, up to eight unknown members at random places."""
    if isinstance(document, list):
        return st.tuples(*(with_unknown_members(item) for item in document)).map(list)
    if not (isinstance(document, tuple) and document[0] == "object"):
        return st.just(document)
    members = st.tuples(*(st.tuples(st.just(k), with_unknown_members(v)) for k, v in document[1]))
    extra = st.lists(scalars, max_size=8).map(lambda values: [(f"u{i}", v) for i, v in enumerate(values)])
    return st.tuples(members, extra, st.randoms(use_true_random=False)).map(_shuffled_in)


def _shuffled_in(drawn: tuple[tuple[tuple[str, Any], ...], list[tuple[str, Any]], Any]) -> tuple[str, list[Any]]:
    members, extra, rng = drawn
    pairs = list(members)
    for pair in extra:
        pairs.insert(rng.randint(0, len(pairs)), pair)
    return "object", pairs


def longer_lists(document: Any) -> Any:
    """Lists of objects (physicians, proposals) made longer by repeating their items."""
    if isinstance(document, list):
        return [longer_lists(item) for item in document] * (3 if document and isinstance(document[0], tuple) else 1)
    if isinstance(document, tuple) and document[0] == "object":
        return "object", [(k, longer_lists(v)) for k, v in document[1]]
    return document


def readings(body: bytes) -> list[tuple[Any, Reading]]:
    """The body's document as each reading has it (none when the body is refused before)."""
    found: list[tuple[Any, Reading]] = []
    if (document := read_unique(body)) is not NOT_READ:
        found.append((document, NATIVE))
        found.append((document, AS_OBJECTS))
    with contextlib.suppress(ValueError):  # as the service reads a body for parts
        found.append((pydantic_core.from_json(body, cache_strings="keys"), Reading(body)))
    return found


def check(adapter: TypeAdapter[Any], rendered_document: Any) -> None:
    body = rendered(rendered_document).encode()
    for document, reading in readings(body):
        expected = whole(adapter, document, reading)
        for slice_size in (1, 2):
            assert in_parts(adapter, document, reading, slice_size) == expected, (reading, slice_size)


@settings(max_examples=300, deadline=None)
@given(document=near_rankings.flatmap(with_unknown_members))
def test_parts_answer_every_near_ranking_as_the_whole(document: Any) -> None:
    check(RANKING_REQUEST, document)


@settings(max_examples=150, deadline=None)
@given(document=near_rankings.map(longer_lists).flatmap(with_unknown_members))
def test_parts_answer_long_rosters_as_the_whole(document: Any) -> None:
    check(RANKING_REQUEST, document)


@settings(max_examples=300, deadline=None)
@given(document=near_scenarios.map(longer_lists).flatmap(with_unknown_members))
def test_parts_answer_every_near_scenario_as_the_whole(document: Any) -> None:
    check(SCENARIO_REQUEST, document)


SESSION_FIELDS = [("session_id", "s1"), ("timestamp", "2026-11-20T10:00:00Z")]


@settings(max_examples=200, deadline=None)
@given(document=near_scenarios.map(longer_lists).flatmap(with_unknown_members), which=st.integers(0, 3))
def test_parts_answer_every_near_session_as_the_whole(document: Any, which: int) -> None:
    if isinstance(document, tuple) and document[0] == "object":
        document = "object", [*document[1], *SESSION_FIELDS[:which]]
    check(RECORDED_SESSION, document)


@settings(max_examples=100, deadline=None)
@given(extra=st.integers(0, 8), sessions=st.lists(st.sampled_from([{}, [], 1]), min_size=1, max_size=3))
def test_parts_answer_audit_batches_as_the_whole(extra: int, sessions: list[Any]) -> None:
    check(AUDIT_BATCH, ("object", [*((f"u{i}", i) for i in range(extra)), ("sessions", sessions)]))


# Real bodies, past BOUNDED_FROM, through the service's own reading: the whole answer, to the byte.

PHYSICIAN = {"id": "a", "location": {"commune": "13055"}}


def unknown(count: int, prefix: str = "k") -> dict[str, int]:
    return {f"{prefix}{i}": 0 for i in range(count)}


def big_bodies() -> dict[str, bytes]:
    roster = [{**PHYSICIAN, "id": f"p{i}"} for i in range(4_000)]
    invalid = [{"id": f"p{i}", "location": {"commune": "13055", **unknown(3)}} for i in range(4_000)]
    invalid[1_500]["id"] = 7  # type: ignore[assignment]
    bodies = {
        "valid roster": {"patient": {"location": {"commune": "69003"}}, "physicians": roster},
        "every physician wrong": {"physicians": invalid, "limit": 0, **unknown(5)},
        "a patient of 20,000 unknown members": {
            "patient": {"location": {"commune": "69003", **unknown(20_000)}},
            "physicians": [*roster[:70], {"id": 1}, *roster[71:200]],
            "policy": "nearest",
        },
        "a physician of 20,000 unknown members": {"physicians": [*roster[:100], {**PHYSICIAN, **unknown(20_000)}]},
        "20,000 unknown members at the root": {"physicians": roster[:10], **unknown(20_000)},
        # Members past the first 100 unknown ones are counted, not validated: pydantic must still be
        # able to read them (a lone surrogate, nesting past its depth: the whole text's one error).
        "a lone surrogate in a member only counted": {
            "physicians": roster,
            **unknown(120),
            "u": "\ud800",
            **unknown(9, "v"),
        },
        "nesting past pydantic's depth in a member only counted": {
            "physicians": roster,
            **unknown(120),
            "u": deeply_nested(300),
            **unknown(9, "v"),
        },
    }
    encoded = {name: json.dumps(body).encode() for name, body in bodies.items()}
    # A positive exponent sends a body the slow way (pydantic reads the text, the parts as text too).
    encoded |= {f"{name}, read as text": _with_an_exponent(body) for name, body in encoded.items()}
    return encoded


def deeply_nested(depth: int) -> list[Any]:
    nested: list[Any] = []
    for _ in range(depth):
        nested = [nested]
    return nested


def _with_an_exponent(body: bytes) -> bytes:
    if b'"limit": 0' in body:
        return body.replace(b'"limit": 0', b'"limit": 0e5', 1)
    return body.replace(b'"physicians"', b'"limit": 1e3, "physicians"', 1)


def parse_whole(body: bytes, adapter: TypeAdapter[Any]) -> Any:
    """The reading before the parts: the whole document, or the whole text, validated at once."""
    document = read_unique(body)
    if document is NOT_READ:
        operations.refuse_duplicate_keys(body)
        try:
            return operations.text_validator(adapter).validate_json(body)
        except ValidationError as error:
            raise from_validation_error(error) from error
    try:
        return adapter.validate_python(document)
    except ValidationError as error:
        raise from_validation_error(error, body_read_natively=True) from error


def full_outcome(read: Any, body: bytes, adapter: TypeAdapter[Any]) -> tuple[str, Any]:
    try:
        return "document", pydantic_core.to_json(adapter.dump_python(read(body, adapter)))
    except ProblemError as problem:
        return "refused", problem.body()


@pytest.mark.parametrize(("name", "body"), sorted(big_bodies().items()))
def test_a_big_body_gets_the_answer_of_the_whole_validation(name: str, body: bytes) -> None:
    assert len(body) > BOUNDED_FROM
    expected = full_outcome(parse_whole, body, RANKING_REQUEST)
    assert full_outcome(operations.parse, body, RANKING_REQUEST) == expected
    assert (expected[0] == "document") == name.startswith("valid"), expected


def test_an_audited_session_of_many_unknown_members_is_reported_as_the_whole_would() -> None:
    session = {**dict(SESSION_FIELDS), "channel": "video", **unknown(20_000)}
    raw = json.loads(json.dumps(session))
    with pytest.raises(ValidationError) as caught:
        RECORDED_SESSION.validate_python(raw)
    expected = from_validation_error(caught.value)
    with pytest.raises(ProblemError) as parts:
        validated(RECORDED_SESSION, raw, AS_OBJECTS)
    assert parts.value.body() == expected.body()
    assert expected.error_count == 20_000 + 3  # the unknown members, and the three fields missing


def physician_list(ids: list[str]) -> list[Any]:
    return [("object", [("id", i), ("location", ("object", [("commune", "13055")]))]) for i in ids]


ids = st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=7, unique=True)


@settings(max_examples=100, deadline=None)
@given(ids=ids)
def test_parts_give_a_valid_roster_in_its_order(ids: list[str]) -> None:
    check(RANKING_REQUEST, ("object", [("physicians", physician_list(ids))]))


@settings(max_examples=100, deadline=None)
@given(first=ids, second=ids)
def test_parts_give_valid_proposals_in_their_order(first: list[str], second: list[str]) -> None:
    offers = ("object", [("with_appointment", True), ("without_appointment", True)])
    proposals = (
        "object",
        [("with_appointment", physician_list(first)), ("without_appointment", physician_list(second))],
    )
    check(SCENARIO_REQUEST, ("object", [
        ("channel", "video"), ("offers", offers), ("information_message_shown", True),
        ("location_input_offered", True), ("proposals", proposals),
    ]))  # fmt: skip
