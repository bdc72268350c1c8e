"""Reading sidecar files back: one JSON object per line, one gzip member per line.

The writer puts every sidecar in its own gzip member, so each one has an
offset and a length in the file, just like a WARC record: the catalog keeps
them, and the sidecar page reads a single sidecar with one ranged read (on S3
too). Reading is streaming: one member in memory at a time.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

logger = logging.getLogger(__name__)

CHUNK = 1 << 16


@dataclass(frozen=True)
class SidecarEntry:
    """One sidecar and where its gzip member lies in its file."""

    sidecar: dict[str, Any]
    offset: int
    length: int


def iter_members(fh: BinaryIO) -> Iterator[tuple[int, int, bytes]]:
    """``(offset, length, data)`` of each gzip member of ``fh``, decompressed.

    A truncated last member (a crash mid-write) is skipped with a warning.
    """
    offset = 0
    consumed = 0
    parts: list[bytes] = []
    decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
    pending = b""
    while True:
        data = pending or fh.read(CHUNK)
        pending = b""
        if not data:
            if consumed:
                logger.warning("sidecar file ends in a cut-off gzip member at %d; skipped", offset)
            return
        parts.append(decomp.decompress(data))
        if decomp.eof:
            used = len(data) - len(decomp.unused_data)
            length = consumed + used
            yield offset, length, b"".join(parts)
            pending = decomp.unused_data
            offset += length
            consumed = 0
            parts = []
            decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
        else:
            consumed += len(data)


def iter_entries(uri: str) -> Iterator[SidecarEntry]:
    """Every sidecar of a sidecar file (local path or ``s3://`` URI), streaming."""
    from newsarchive.store import open_input

    with open_input(uri) as fh:
        for offset, length, data in iter_members(fh):
            for line in data.splitlines():
                if not line.strip():
                    continue
                try:
                    yield SidecarEntry(json.loads(line), offset, length)
                except json.JSONDecodeError as exc:
                    logger.warning("%s: bad sidecar line at offset %d: %s", uri, offset, exc)


def iter_sidecars(uri: str) -> Iterator[dict[str, Any]]:
    """Just the sidecars of a file, streaming."""
    for entry in iter_entries(uri):
        yield entry.sidecar


def read_sidecar(uri: str, offset: int, length: int) -> dict[str, Any]:
    """One sidecar, by its member's offset and length (a ranged read)."""
    from newsarchive.store import read_range

    data = zlib.decompress(read_range(uri, offset, length), zlib.MAX_WBITS | 16)
    return json.loads(data.splitlines()[0])  # type: ignore[no-any-return]
