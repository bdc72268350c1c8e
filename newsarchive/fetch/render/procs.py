"""The browser's process tree, read from ``/proc`` (Linux).

Chromium is a family of processes -- the browser, a zygote, a GPU/utility
process, one renderer per site -- under Playwright's driver. Measuring memory
means summing all of them, and "no Chromium left behind" means none of them
outlives the crawl, so both need the tree, not one pid.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

logger = logging.getLogger(__name__)

PROC = Path("/proc")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_BROWSER_WORDS = ("chrom", "playwright")


def _read(path: str) -> bytes | None:
    """The start of a ``/proc`` file (None when its process is gone).

    Plain ``os.open``/``os.read``: the memory watchdog reads a few hundred of
    these every half second during a rendered crawl, and ``Path.read_text``
    (path objects, a text wrapper, decoding) cost ~40% of the crawl's main
    thread on a busy machine (``benchmarks/render.py``, 4 tabs).
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 65536):  # a command line may be long
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _stat(pid: int | str) -> list[bytes] | None:
    """The fields of ``/proc/PID/stat`` after the command name (None when it is gone)."""
    stat = _read(f"{PROC}/{pid}/stat")
    if stat is None:
        return None
    # the command name may contain spaces and parentheses: split after the last ")"
    return stat[stat.rfind(b")") + 2 :].split()


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for name in os.listdir(PROC):
        if not name.isdigit():
            continue
        fields = _stat(name)
        if fields is not None:  # else gone meanwhile
            children.setdefault(int(fields[1]), []).append(int(name))
    return children


def cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of ``pid`` (all its threads) so far; 0 when it is gone."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, grandchildren...)."""
    tree = _children_map()
    out: list[int] = []
    todo = list(tree.get(pid, ()))
    while todo:
        child = todo.pop()
        out.append(child)
        todo.extend(tree.get(child, ()))
    return out


def cmdline(pid: int) -> str:
    """The command line of ``pid`` ('' when it is gone)."""
    raw = _read(f"{PROC}/{pid}/cmdline")
    return "" if raw is None else raw.replace(b"\0", b" ").decode("utf-8", "replace")


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (0 when it is gone)."""
    statm = _read(f"{PROC}/{pid}/statm")  # size, resident (VmRSS), ... in pages
    return 0 if statm is None else int(statm.split()[1]) * _PAGE


def tree_rss(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, summed."""
    return rss_bytes(pid) + sum(rss_bytes(p) for p in descendants(pid))


def browser_processes(root: int | None = None) -> list[int]:
    """Chromium and Playwright-driver processes below ``root`` (this process by default)."""
    root = os.getpid() if root is None else root
    return [p for p in descendants(root) if any(w in cmdline(p).lower() for w in _BROWSER_WORDS)]


def with_marker(name: str, value: str) -> list[int]:
    """Processes whose environment holds ``name=value`` (tests tag a crawl this way)."""
    needle = f"{name}={value}".encode()
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def kill_browsers(pids: list[int]) -> int:
    """SIGKILL those of ``pids`` that are still browser processes; returns how many.

    Called with the tree seen before a close: a pid that is gone, or was reused
    by something else, is left alone.
    """
    left = [p for p in pids if any(w in cmdline(p).lower() for w in _BROWSER_WORDS)]
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if left:
        logger.warning("killed %d browser processes left after closing the browser", len(left))
    return len(left)


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot): tells a process from a later one with its pid."""
    fields = _stat(pid)
    return None if fields is None else int(fields[19])


def renderers(pids: list[int]) -> dict[int, int | None]:
    """The Chromium renderer processes among ``pids``, each with its :func:`start_time`."""
    return {pid: start_time(pid) for pid in pids if "--type=renderer" in cmdline(pid)}
