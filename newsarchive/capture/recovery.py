"""Closing the ``.open`` files a crash or kill left behind.

Each is cut back to its last complete gzip member (one record, or one sidecar
line, per member) and renamed to its final name, so it is a valid file with
every record that was flushed before the kill. The log says how many records
were saved.

A sidecar is written as its WARC ``metadata`` record first, then its line in
the sidecar file beside that WARC (:meth:`~newsarchive.capture.writer.WarcFileSet.write_sidecar`):
a kill between the two leaves a WARC whose last record is a sidecar without
its line. Recovery puts the line back from the record, so the sidecar files
agree with the WARC files, which are the truth.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from newsarchive.capture.gzmembers import iter_members, last_member
from newsarchive.capture.naming import OPEN_SUFFIX
from newsarchive.capture.reconcile import SIDECAR_PROFILE
from newsarchive.capture.writer import gzip_member, sidecar_json
from newsarchive.layout import SIDECAR_DIR, WARC_DIR, sidecar_name

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
    for done in found:
        if done.kind == "warc" and done.records:
            restore_sidecar_line(done.path)
    return found


def _trailing_sidecar_line(warc: Path) -> bytes | None:
    """The sidecar line of the record ``warc`` ends with, if that is a whole sidecar record."""
    with open(warc, "rb") as fh:
        data = last_member(fh, warc.stat().st_size)
    head, sep, body = (data or b"").partition(b"\r\n\r\n")
    if not sep:
        return None
    headers = {}
    for line in head.decode("utf-8", "replace").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if (headers.get("warc-type") != "metadata"
            or SIDECAR_PROFILE not in headers.get("content-type", "")):
        return None
    try:
        payload = body[:int(headers.get("content-length", ""))]
        return sidecar_json(json.loads(payload)) + b"\n"
    except ValueError:
        return None


def _lines(path: Path) -> set[bytes]:
    """The lines of a sidecar file, tolerating a cut end (what was read counts)."""
    lines: set[bytes] = set()
    try:
        with gzip.open(path, "rb") as fh:
            lines.update(fh)
    except (OSError, EOFError, zlib.error):
        pass
    return lines


def missing_sidecar_line(warc: Path, sidecars: Path) -> bytes | None:
    """The line ``sidecars`` lacks for the sidecar record ``warc`` ends with, if any.

    Only the last record can lack its line (one thread writes the record, then
    the line, with nothing between); ``warc`` and ``sidecars`` may be ``.open``.
    """
    line = _trailing_sidecar_line(warc)
    if line is None or line in _lines(sidecars):
        return None
    return line


def restore_sidecar_line(warc: Path) -> bool:
    """Append to the sidecar file beside ``warc`` (a closed WARC) the line a kill
    cut off after the WARC's last record; True if one was missing."""
    sidecars = warc.parent.parent / SIDECAR_DIR / sidecar_name(warc.name)
    line = missing_sidecar_line(warc, sidecars)
    if line is None:
        return False
    with open(sidecars, "ab") as fh:
        fh.write(gzip_member(line, 6))
        fh.flush()
        os.fsync(fh.fileno())
    logger.warning("restored in %s the sidecar line of the last record of %s (the kill fell "
                   "between the two)", sidecars, warc.name)
    return True
