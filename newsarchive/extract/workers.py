"""Extraction worker processes that never outlive the crawl that started them.

A :class:`~concurrent.futures.ProcessPoolExecutor` of extraction processes
uses the ``forkserver`` start method: the parent starts a fork server, which
forks the workers; a resource tracker sits beside them. After ``kill -9`` of the
crawl nothing tells the workers, which wait on their task pipe for good, and
they keep the fork server's and tracker's pipes open, so all three linger.

* :func:`die_with_parent` asks Linux (``prctl(PR_SET_PDEATHSIG, SIGKILL)``) to
  kill the calling process when its parent dies. The fork server runs it on
  start (:data:`PRELOAD`) and every worker in its
  initializer, so kill -9 of the crawl takes the fork server down (it also
  exits on its own when the crawl's end of its "alive" pipe closes), which
  takes the workers down, whose exit closes the tracker's last pipe.
* :func:`worker_init` also makes workers ignore SIGINT and SIGTERM. Ctrl-C in a
  terminal (or ``kill -TERM`` to the process group) reaches every process of
  the group; a worker that died of it broke the pool mid-shutdown
  (``BrokenProcessPool`` on every page in flight). The crawl decides when its
  workers stop; the pool's shutdown ends them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
#: the crawl's pid, for the fork server: it may have died while the server started
PARENT_ENV = "NEWSARCHIVE_POOL_PARENT"
#: what the fork server imports on start: never imported by the crawl itself
PRELOAD = ["newsarchive.extract.forkserver_init"]


def die_with_parent(parent: int | None = None) -> None:
    """Get SIGKILL when the parent process dies (Linux; elsewhere a no-op).

    ``parent``: the pid the parent must have; a process whose parent already
    died before this call (it was reparented meanwhile) exits at once.
    """
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid() if parent is None else parent
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def ignore_stop_signals() -> None:
    """Leave SIGINT/SIGTERM to the crawl: it stops its workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def worker_init() -> None:
    """Initializer of each extraction worker (see the module docstring)."""
    ignore_stop_signals()
    die_with_parent()

