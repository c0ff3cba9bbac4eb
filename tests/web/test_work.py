"""The answers a worker holds at once (app/web/work.py): reserved once computed, released once
handed to the connection; what the kernel has not taken counts from there (tests in
test_load_shedding.py, against a live server)."""

from __future__ import annotations

import pytest

from app.contract.problems import ProblemError
from app.web.work import Work

MIB = 1024 * 1024


def test_an_answer_beside_others_is_refused_past_the_limit_and_room_comes_back() -> None:
    work = Work(max_queued_bytes=4 * MIB, threads=1, max_answer_bytes=16 * MIB)
    try:
        release_first = work.answer_held(10 * MIB)
        with pytest.raises(ProblemError) as caught:
            work.answer_held(10 * MIB)  # 20 MiB beside the first
        assert (caught.value.status, caught.value.headers["Retry-After"]) == (503, "1")
        release_small = work.answer_held(5 * MIB)  # 15 MiB: fits
        release_first()
        release_small()
        work.answer_held(20 * MIB)()  # alone, an answer of any size goes (the operation bounds it)
        assert work.answers == 0
    finally:
        work.close()
