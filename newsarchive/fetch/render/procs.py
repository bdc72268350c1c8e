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
_BROWSER_WORDS = ("chrom", "playwright")


def _stat(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (None when it is gone)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command name may contain spaces and parentheses: split after the last ")"
    return stat[stat.rfind(")") + 2 :].split()


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(entry.name)
        if fields is not None:  # else gone meanwhile
            children.setdefault(int(fields[1]), []).append(int(entry.name))
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
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(
            "utf-8", "replace"
        )
    except OSError:
        return ""


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (0 when it is gone)."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


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


def renderers_over(pids: list[int], limit: int) -> list[tuple[int, int]]:
    """``(pid, rss)`` of the Chromium renderer processes among ``pids`` using more than ``limit`` bytes."""
    out = []
    for pid in pids:
        if "--type=renderer" in cmdline(pid):
            rss = rss_bytes(pid)
            if rss > limit:
                out.append((pid, rss))
    return out
