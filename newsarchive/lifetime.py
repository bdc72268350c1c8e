"""Child processes that do not outlive their parent, even after its ``kill -9``.

A process our command starts (a pool's fork server, a replay server) gets no
word when the command is killed with SIGKILL: it would run on under init,
holding a port or extracting into a folder nobody reads.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int | None = None) -> None:
    """Get SIGKILL when the parent process dies (Linux; elsewhere a no-op).

    ``parent``: the pid the parent must have; a process whose parent already
    died before this call (it was reparented meanwhile) exits at once.
    """
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid() if parent is None else parent
    # The process's own symbols (libc's among them): no library search, which
    # would run ldconfig in a child, on every start of an extraction worker.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def pid_alive(pid: object) -> bool:
    """Whether a process ``pid`` exists (of any user); False for what is not a pid."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
