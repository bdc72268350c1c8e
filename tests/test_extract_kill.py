"""``extract --jobs`` killed with SIGKILL leaves no process of its own running.

The command's pool (a fork server, its workers, each worker's bounded
extraction process, a resource tracker) must go with it: a researcher's
killed batch job must not keep extracting, and writing, in the background.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsarchive.cli.main import main
from tests.test_extract_bounded import _warc, attribute_bomb, story

pytestmark = pytest.mark.slow  # a real pool of extraction processes

BIN = str(Path(sys.executable).with_name("newsarchive"))


def descendants(root: int) -> dict[int, str]:
    """Every live process below ``root``, by pid, with its command line."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                ppid = int(fh.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found: dict[int, str] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                found[pid] = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        todo.extend(children.get(pid, []))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_a_killed_extract_jobs_run_leaves_no_process(tmp_path: Path) -> None:
    # Pages that take the workers a while (an attribute bomb runs to its time
    # limit), in two files, so both pool workers are busy when the kill comes.
    slow = attribute_bomb()
    warcs = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.warc.gz"
        _warc(path, [(f"http://news.example/{name}/{i}", slow) for i in range(6)])
        warcs.append(str(path))
    proc = subprocess.Popen(
        [BIN, "extract", *warcs, "--out", str(tmp_path / "out"), "--jobs", "2", "--quiet",
         "--time-limit", "120", "--memory-limit", "1024"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tree: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            tree = descendants(proc.pid)
            if sum("newsarchive.extract.worker" in cmd for cmd in tree.values()) >= 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the two workers never started extracting (exit {proc.poll()})")
        tree = descendants(proc.pid)  # the whole pool, as it is at the kill
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(alive(pid) for pid in tree):
            time.sleep(0.2)
        left = {pid: cmd[:100] for pid, cmd in tree.items() if alive(pid)}
        assert not left, f"still running after the kill: {left}"
    finally:
        for pid in tree:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_next_run_removes_the_scratch_a_killed_run_left(tmp_path: Path) -> None:
    """A killed ``--jobs`` run leaves the folder its parts were extracted into; the
    next run into that ``--out`` removes it, but not that of a run still going."""
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()  # a pid no process has now (a killed run's)
    out = tmp_path / "out"
    stale = out / f".extract-parts-{finished.pid}-x1y2"
    running = out / f".extract-parts-{os.getpid()}-a3b4"
    for folder in (stale, running):
        folder.mkdir(parents=True)
        (folder / "part-0.sidecars.jsonl.gz").write_bytes(b"half written")
    warcs = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.warc.gz"
        _warc(path, [(f"http://news.example/{name}/1", story(f"Story {name}"))])
        warcs.append(str(path))
    assert main(["extract", *warcs, "--out", str(out), "--jobs", "2", "--quiet"]) == 0
    assert "NEWSARCHIVE_POOL_PARENT" not in os.environ  # a library caller's environment
    assert not stale.exists()
    assert (running / "part-0.sidecars.jsonl.gz").exists()
    assert sorted(p.name for p in out.glob(".extract-parts-*")) == [running.name]
    assert sorted(p.name for p in out.glob("*.sidecars.jsonl.gz")) == [
        "a.sidecars.jsonl.gz", "b.sidecars.jsonl.gz"]
