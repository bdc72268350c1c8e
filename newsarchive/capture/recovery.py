"""Closing the ``.open`` files a crash or kill left behind.

Each is cut back to its last complete gzip member (one record, or one sidecar
line, per member) and renamed to its final name, so it is a valid file with
every record that was flushed before the kill. The log says how many records
were saved.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from newsarchive.capture.gzmembers import iter_members
from newsarchive.capture.naming import OPEN_SUFFIX
from newsarchive.layout import SIDECAR_DIR, WARC_DIR

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovered:
    """What recovery did with one ``.open`` file."""

    path: Path  # the final path (or the removed .open path if nothing was kept)
    kind: str
    records: int
    bytes_kept: int
    bytes_cut: int


def recover_file(open_path: Path) -> Recovered:
    """Cut ``open_path`` back to its complete members and give it its final name."""
    kind = "sidecars" if open_path.parent.name == SIDECAR_DIR else "warc"
    size = open_path.stat().st_size
    kept = 0
    records = 0
    with open(open_path, "rb") as fh:
        for member in iter_members(fh):
            if not member.complete:
                break
            kept = member.offset + member.length
            records += 1
    final = open_path.with_name(open_path.name.removesuffix(OPEN_SUFFIX))
    if records == 0 or (kind == "warc" and records < 2):
        # Nothing but (at most) a warcinfo record: no capture to keep.
        open_path.unlink()
        logger.warning("removed %s: no complete record in it", open_path)
        return Recovered(open_path, kind, 0, 0, size)
    with open(open_path, "r+b") as fh:
        fh.truncate(kept)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(open_path, final)
    logger.warning(
        "recovered %s after an interrupted crawl: %d records saved, %d bytes of an "
        "incomplete record cut off",
        final,
        records,
        size - kept,
    )
    return Recovered(final, kind, records, kept, size - kept)


def recover_directory(directory: Path, pattern: str = "*") -> list[Recovered]:
    """Recover every ``.open`` file of a collection folder (whose name matches
    ``pattern``: a worker of a shared folder recovers only its own)."""
    found: list[Recovered] = []
    for sub in (WARC_DIR, SIDECAR_DIR):
        folder = Path(directory) / sub
        if not folder.is_dir():
            continue
        for open_path in sorted(folder.glob(pattern + OPEN_SUFFIX)):
            found.append(recover_file(open_path))
    return found
