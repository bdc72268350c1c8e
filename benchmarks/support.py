"""What the benchmark scripts share: servers on loopback and measuring a process tree.

Benchmarks run each measured command as a child process, as a user would run
it, and read its cost from outside: wall time, CPU seconds of the whole
process tree (the child and everything it started, from the kernel's
accounting of reaped children) and peak resident memory of the tree (sampled
from ``/proc``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from newsarchive.fetch.render.procs import tree_rss

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests.plugins
from tests.plugins import net  # noqa: E402
from tests.plugins.net import free_port  # noqa: E402

BIN = Path(sys.executable).with_name("newsarchive")


def wait_until_up(url: str, proc: subprocess.Popen[bytes], what: str, seconds: float = 600) -> None:
    """Poll ``url`` until it answers; kill ``proc`` and exit if it never does."""
    try:
        net.wait_until_up(net.http_answers(url), proc, what, timeout=seconds)
    except RuntimeError as exc:  # it killed proc
        raise SystemExit(str(exc)) from None


def start_demo_site(articles: int, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """``newsarchive demo-site`` in its own process; returns it and its root URL."""
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN), "demo-site", "--port", str(port), "--articles", str(articles), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    wait_until_up(url + "robots.txt", proc, "demo site", seconds=1800)
    return proc, url


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """moto's S3 server on a free port; returns it and its endpoint URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + "/", proc, "moto server", seconds=60)
    return proc, url


@dataclass
class Measured:
    """The cost of one command."""

    wall: float  # seconds
    cpu: float  # CPU seconds of the whole process tree
    peak_rss: int  # bytes, the tree's resident memory at its largest
    stdout: str
    returncode: int
    ended: float = 0.0  # wall-clock time (epoch seconds) when the command's output ended


PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def _children() -> set[int]:
    """Process ids whose parent is this process (from ``/proc``)."""
    me, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            if int(stat[stat.rfind(b")") + 2:].split()[1]) == me:
                found.add(int(entry))
    return found


def _reap_orphans(known: set[int], seconds: float = 30.0) -> None:
    """Wait for the descendants of a finished command that outlived it.

    A process whose parent exits without waiting for it (multiprocessing's
    fork server, a worker killed by its parent's death) is handed to the
    nearest subreaper: this process (see :func:`run_measured`). Its CPU
    seconds, and those of the children it reaped, count in
    ``RUSAGE_CHILDREN`` only once it is waited for here; otherwise they
    would be lost to init and the tree's CPU undercounted.
    """
    deadline = time.monotonic() + seconds
    while orphans := _children() - known:
        for pid in orphans:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        if time.monotonic() > deadline:
            print(f"benchmark: {len(orphans)} processes of the measured command still run; "
                  "their CPU is not counted", file=sys.stderr)
            return
        time.sleep(0.05)


def run_measured(cmd: list[str], *, every: float = 0.2, **kwargs: object) -> Measured:
    """Run ``cmd`` to its end; measure wall time, the tree's CPU and its peak RSS.

    This process becomes a child subreaper, so descendants orphaned on the way
    are reparented here and their CPU is counted (:func:`_reap_orphans`).
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    known = _children()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(every):
            peak = max(peak, tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - start
    ended = time.time()
    done.set()
    sampler.join()
    _reap_orphans(known)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(wall, cpu, peak, out.decode("utf-8", "replace"), proc.returncode, ended)
