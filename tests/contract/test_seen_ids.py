"""The memory of session ids met during an audit: the same answers as a plain set, across merges."""

from __future__ import annotations

import random

import pytest

from app.contract.audits import SeenIds


@pytest.mark.parametrize("recent", [1, 7, 1 << 16])
def test_seen_ids_answer_like_a_set(recent: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SeenIds, "RECENT", recent)
    rng = random.Random(13)
    ids = [f"session-{rng.randrange(3_000)}" for _ in range(5_000)] + ["", "é", "s" * 500]
    seen, reference = SeenIds(), set()
    for session_id in ids:
        assert seen.add(session_id) == (session_id in reference), session_id
        reference.add(session_id)
    assert len(seen) == len(reference)


def test_ids_differing_by_one_character_are_different() -> None:
    seen = SeenIds()
    assert not seen.add("s0000001")
    assert not seen.add("s0000002")
    assert not seen.add("s0000001 ")
    assert seen.add("s0000001")
