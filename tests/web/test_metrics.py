"""The reports of held bytes that several workers share through prometheus_client's files."""

from __future__ import annotations

import asyncio
import os
import struct
from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict

from app.web import metrics

NO_SUCH_PROCESS = 99_999_999  # above any pid_max Linux allows (4,194,304)


def test_the_reports_of_workers_gone_are_forgotten_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    gone, alive, odd = (tmp_path / f"gauge_livemax_{name}.db" for name in (NO_SUCH_PROCESS, os.getpid(), "x"))
    counts = tmp_path / f"counter_{NO_SUCH_PROCESS}.db"
    for path in (gone, alive, odd, counts):
        path.write_bytes(b"")
    metrics.forget_workers_gone()
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(p.name for p in (alive, odd, counts))


def test_a_report_another_scrape_removed_meanwhile_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """prometheus_client finds the files, then removes them: another worker's scrape may have
    removed one in between."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / f"gauge_livemax_{NO_SUCH_PROCESS}.db").write_bytes(b"")

    def removed_in_between(pid: int, directory: str) -> None:
        (Path(directory) / f"gauge_livemax_{pid}.db").unlink()
        raise FileNotFoundError(f"gauge_livemax_{pid}.db")

    monkeypatch.setattr(metrics, "mark_process_dead", removed_in_between)
    metrics.forget_workers_gone()
    assert list(tmp_path.iterdir()) == []


def test_a_worker_file_read_while_it_is_being_created_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A starting worker creates its file empty, then sizes it: a scrape in between is not a 500."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    starting = tmp_path / f"gauge_livemax_{os.getpid()}.db"
    starting.touch()  # as MmapedDict opens it, before it sizes it

    async def scrape_while_it_is_sized() -> bytes:
        loop = asyncio.get_running_loop()
        loop.call_later(0.015, lambda: MmapedDict(str(starting)).close())
        return await metrics._every_workers_metrics()

    with pytest.raises(struct.error):  # what a scrape read at that instant
        metrics._merged()
    assert asyncio.run(scrape_while_it_is_sized()) == b""
