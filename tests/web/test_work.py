"""The answers a worker holds at once (app/web/work.py): reserved once computed, released once
handed to the connection; what the kernel has not taken counts from there (tests in
test_load_shedding.py, against a live server)."""

from __future__ import annotations

import os
import subprocess
import sys

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


# After a 4 MiB block is freed, glibc's own threshold serves a 1.5 MiB one from its heap; a worker's
# (keep_big_buffers_mapped) maps it: mallinfo2's count of mapped blocks says which.
MAPPED_AFTER_A_BIGGER_ONE_FREED = """
import ctypes, ctypes.util, sys
from app.web.work import keep_big_buffers_mapped
FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in FIELDS.split()]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype, libc.malloc.restype, libc.free.argtypes = Info, ctypes.c_void_p, [ctypes.c_void_p]
if sys.argv[1] == "worker":
    keep_big_buffers_mapped()
libc.free(libc.malloc(4 << 20))
before = libc.mallinfo2().hblks
block = libc.malloc(3 << 19)
print(libc.mallinfo2().hblks - before)
"""


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
    return int(completed.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_worker_maps_each_buffer_of_512_kib_or_more_where_glibc_would_not() -> None:
    assert mapped_blocks("plain") == 0
    assert mapped_blocks("worker") == 1
    assert mapped_blocks("worker", MALLOC_MMAP_THRESHOLD_=str(8 << 20)) == 0  # the operator's setting stays
