"""Worker slots: many frontier workers crawling into one collection folder.

A worker of ``crawl --frontier`` does not take the folder's lock (one crawl
at a time) but a slot: ``DIR/state/workers/HOST-wN.lock`` (``fcntl.flock``,
dropped by the kernel when the worker dies), the lowest ``N`` free on this
machine, or the name given with ``--worker``. The slot names the worker's
WARC and sidecar files (``PREFIX-TIMESTAMP-SERIAL-HOST-wN.warc.gz``), so
workers never collide; a worker restarted after a kill takes the slot back
and closes the ``.open`` files it left and writes the sidecars it owed
(:mod:`newsarchive.capture.recovery`, :mod:`newsarchive.capture.reconcile`),
touching no other worker's files.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsarchive.exceptions import BusyError, ConfigError
from newsarchive.schedule.lock import SiteLock


def take_slot(out: Path, name: str | None, host: str) -> tuple[SiteLock, str]:
    """Lock a worker slot in ``out``: ``name``, or the lowest free ``HOST-wN``
    (``host``: this machine's name as WARC file names spell it)."""
    if name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", name):
        raise ConfigError(f"--worker {name!r}: use letters, digits, dots and dashes")
    folder = Path(out) / "state" / "workers"
    folder.mkdir(parents=True, exist_ok=True)
    note = f"started {datetime.now(UTC).isoformat(timespec='seconds')}"
    candidates = [name] if name else (f"{host}-w{n}" for n in itertools.count(1))
    for slot in candidates:
        lock = SiteLock(folder / f"{slot}.lock")
        if lock.acquire(note=note):
            return lock, slot
    raise BusyError(f"worker {name} is already running in {out}; pick another --worker name")


def frontier_overrides(slot: str) -> dict[str, Any]:
    """The settings of a frontier worker in slot ``slot``."""
    return {
        "SCHEDULER": "newsarchive.fetch.frontier.FrontierScheduler",
        "FRONTIER_WORKER": slot,
        "WARC_HOST": slot,
    }
