"""One folder, one kind of crawl at a time: a plain crawl alone, or any number of frontier workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from newsarchive.crawl import lock_collection
from newsarchive.exceptions import BusyError

HOLD = (
    "import sys, time; from pathlib import Path; from newsarchive.crawl import lock_collection; "
    "lock_collection(Path(sys.argv[1]), shared=sys.argv[2] == 'shared'); print('held', flush=True); "
    "sys.stdin.read()"
)


def _holder(out: Path, kind: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out), kind], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _end(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=60)


def test_a_plain_crawl_is_refused_while_frontier_workers_write_the_folder(tmp_path: Path) -> None:
    worker = _holder(tmp_path, "shared")
    try:
        second_worker = lock_collection(tmp_path, shared=True)  # workers share the folder
        with pytest.raises(BusyError, match="in use by another crawl"):
            lock_collection(tmp_path)
        second_worker.release()
    finally:
        _end(worker)
    lock_collection(tmp_path).release()  # the last worker gone, a plain crawl may start


def test_a_frontier_worker_is_refused_while_a_plain_crawl_runs(tmp_path: Path) -> None:
    crawl = _holder(tmp_path, "exclusive")
    try:
        with pytest.raises(BusyError, match="not a frontier worker") as refused:
            lock_collection(tmp_path, shared=True)
        assert f"pid {crawl.pid}" in str(refused.value)
    finally:
        _end(crawl)
    lock_collection(tmp_path, shared=True).release()
