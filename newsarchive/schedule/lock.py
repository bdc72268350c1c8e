"""A per-site lock that survives a crash: ``fcntl.flock`` on ``LOCKS/NAME.lock``.

The kernel drops an flock when the last descriptor of the open file goes
away, so no stale lock outlives a killed process, and there is no PID file
to second-guess. The scheduler takes the lock, then hands the descriptor to
the crawl it starts (``pass_fds``): the lock is held while *either* is alive.
If the scheduler dies mid-run and is restarted, the orphaned crawl still holds
the lock and the site is not started twice. The file also holds the PID of
the holder (and what :meth:`SiteLock.acquire` was given to say about it, such
as a start time), for messages only. The crawl takes the same kind of lock
on its collection folder (:mod:`newsarchive.crawl`).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from newsarchive.exceptions import StorageError


class SiteLock:
    """The lock of one site; :meth:`acquire` does not wait."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self, note: str = "", *, shared: bool = False) -> bool:
        """Take the lock; False if another process (or descriptor) holds it.

        ``note`` is written after the PID, for :meth:`holder_note`. A
        ``shared`` lock may be held by many processes at once (the workers of
        one frontier crawl) but never beside an exclusive one.
        """
        if self.fd is not None:
            return True
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot create the lock file {self.path}: {exc}") from exc
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {note}".rstrip().encode() + b"\n")
        self.fd = fd
        return True

    def note_pid(self, pid: int) -> None:
        """Record the PID of the run now holding the lock with us."""
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, f"{pid}\n".encode(), 0)

    def holder(self) -> int | None:
        """The PID written by the last holder, if any (informative)."""
        first = self.holder_note().partition(" ")[0]
        return int(first) if first.isdigit() else None

    def holder_note(self) -> str:
        """What the last holder wrote: its PID, then its note."""
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    def release(self) -> None:
        """Close our descriptor (a crawl that inherited it keeps the lock until it exits)."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)
