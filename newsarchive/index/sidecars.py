"""Reading sidecar files back: one JSON object per line, one gzip member per line.

The writer puts every sidecar in its own gzip member, so each one has an
offset and a length in the file, just like a WARC record: the catalog keeps
them, and the sidecar page reads a single sidecar with one ranged read (on S3
too). Reading is streaming: one member in memory at a time (bounded by
``MAX_SIDECAR``); a damaged member is skipped with a warning and reading goes
on at the next whole one (:mod:`newsarchive.capture.gzmembers`).
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from newsarchive.capture.gzmembers import iter_members

logger = logging.getLogger(__name__)

#: bytes one sidecar member may inflate to
MAX_SIDECAR = 64 << 20


@dataclass(frozen=True)
class SidecarEntry:
    """One sidecar and where its gzip member lies in its file."""

    sidecar: dict[str, Any]
    offset: int
    length: int


def iter_entries(uri: str, faults: list[str] | None = None) -> Iterator[SidecarEntry]:
    """Every sidecar of a sidecar file (local path or ``s3://`` URI), streaming.

    A damaged member or line is skipped with a warning and, when ``faults``
    is given, a line appended to it.
    """
    from newsarchive.store import open_input

    def fault(message: str) -> None:
        logger.warning("%s", message)
        if faults is not None:
            faults.append(message)

    with open_input(uri) as fh:
        for member in iter_members(fh, keep=True, max_data=MAX_SIDECAR, resync=True):
            offset, length = member.offset, member.length
            if not member.complete or member.data is None:
                fault(f"{uri}: offset {offset}: damaged sidecar member ({member.error}); "
                      "skipped")
                continue
            for line in member.data.splitlines():
                if not line.strip():
                    continue
                try:
                    yield SidecarEntry(json.loads(line), offset, length)
                except json.JSONDecodeError as exc:
                    fault(f"{uri}: offset {offset}: bad sidecar line ({exc}); skipped")


def iter_sidecars(uri: str, faults: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Just the sidecars of a file, streaming (``faults`` as for :func:`iter_entries`)."""
    for entry in iter_entries(uri, faults):
        yield entry.sidecar


def read_sidecar(uri: str, offset: int, length: int) -> dict[str, Any]:
    """One sidecar, by its member's offset and length (a ranged read)."""
    from newsarchive.store import read_range

    data = zlib.decompress(read_range(uri, offset, length), zlib.MAX_WBITS | 16)
    return json.loads(data.splitlines()[0])  # type: ignore[no-any-return]
