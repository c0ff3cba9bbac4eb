"""The answers a worker holds at once (app/web/work.py): reserved once computed, released once
handed to the connection; what the kernel has not taken counts from there (tests in
test_load_shedding.py, against a live server)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.contract.problems import ProblemError
from app.runtime import libc_function
from app.web.work import Work, operator_threshold

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


# After a 4 MiB block is freed, glibc's own threshold serves a 600 KiB one from its heap; a worker's
# (keep_big_buffers_mapped: 512 KiB) maps it. mallinfo2's count of mapped blocks says which, in a
# process of its own: plain, the function called, or inside a served app (its lifespan run, its
# commune search's index built).
MAPPED_AFTER_A_BIGGER_ONE_FREED = """
import contextlib, ctypes, ctypes.util, sys
FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in FIELDS.split()]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype, libc.malloc.restype, libc.free.argtypes = Info, ctypes.c_void_p, [ctypes.c_void_p]
context = contextlib.nullcontext()
if sys.argv[1] == "function":
    from app.web.work import keep_big_buffers_mapped
    keep_big_buffers_mapped()
elif sys.argv[1] == "served":
    from starlette.testclient import TestClient
    from app.web.application import create_app
    context = TestClient(create_app())
with context:
    if sys.argv[1] == "served":  # its search index built (in the background) before: no block of its meanwhile
        context.get("/v1/communes", params={"q": "lyon"}).raise_for_status()
    libc.free(libc.malloc(4 << 20))
    before = libc.mallinfo2().hblks
    block = libc.malloc(600 << 10)
    print(libc.mallinfo2().hblks - before)
"""
GLIBC_COUNTS_MAPPED_BLOCKS = libc_function("mallinfo2") is not None  # glibc 2.33 and later


def mapped_blocks(mode: str, **environment: str) -> int:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    completed = subprocess.run(
        [sys.executable, "-c", MAPPED_AFTER_A_BIGGER_ONE_FREED, mode],
        env={**env, **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(completed.stdout.split()[-1])


@pytest.mark.skipif(not GLIBC_COUNTS_MAPPED_BLOCKS, reason="glibc's allocator, which counts its mapped blocks")
def test_a_served_worker_maps_each_buffer_of_512_kib_or_more_where_glibc_would_not() -> None:
    assert mapped_blocks("plain") == 0
    assert mapped_blocks("function") == 1
    assert mapped_blocks("served") == 1


@pytest.mark.skipif(not GLIBC_COUNTS_MAPPED_BLOCKS, reason="glibc's allocator, which counts its mapped blocks")
def test_an_operator_s_own_threshold_stays() -> None:
    assert mapped_blocks("function", MALLOC_MMAP_THRESHOLD_=str(8 << 20)) == 0
    assert mapped_blocks("function", GLIBC_TUNABLES=f"glibc.malloc.mmap_threshold={8 << 20}") == 0
    assert mapped_blocks("function", GLIBC_TUNABLES="glibc.malloc.trim_threshold=131072") == 1  # another tunable


def test_only_a_threshold_named_exactly_is_the_operator_s() -> None:
    assert operator_threshold({"MALLOC_MMAP_THRESHOLD_": "1"})
    assert operator_threshold({"GLIBC_TUNABLES": "glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=1"})
    assert not operator_threshold({"GLIBC_TUNABLES": "territorialite.mmap_threshold=0:glibc.malloc.trim_threshold=1"})
    assert not operator_threshold({})
