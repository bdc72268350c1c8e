"""Walking the gzip members of a file without decompressing it into memory.

Both crash recovery and ``warc check`` need to know where each gzip member
ends and whether the last one is complete: a WARC whose final member was cut
off by a kill still looks fine to ``warcio check``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1 << 20


@dataclass(frozen=True)
class Member:
    """One gzip member: where it starts, how long it is, and whether it is whole."""

    offset: int
    length: int
    complete: bool
    error: str | None = None


def iter_members(fh: BinaryIO, chunk_size: int = CHUNK) -> Iterator[Member]:
    """Yield every gzip member of ``fh``; a broken or cut-off one comes last.

    A member is complete when its deflate stream ended and its CRC-32 and size
    trailer matched (zlib checks both in gzip mode).
    """
    offset = 0  # start of the current member in the file
    consumed = 0  # bytes of the current member fed so far
    decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
    pending = b""
    while True:
        data = pending or fh.read(chunk_size)
        pending = b""
        if not data:
            break
        try:
            # Decompress in bounded pieces: output is discarded.
            decomp.decompress(data, 0)
            while decomp.unconsumed_tail:
                decomp.decompress(decomp.unconsumed_tail, CHUNK)
        except zlib.error as exc:
            yield Member(offset, consumed + len(data), False, f"corrupt gzip data: {exc}")
            return
        if decomp.eof:
            unused = decomp.unused_data
            used = len(data) - len(unused)
            length = consumed + used
            yield Member(offset, length, True)
            offset += length
            consumed = 0
            decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
            pending = unused
        else:
            consumed += len(data)
    if consumed:
        yield Member(offset, consumed, False, "gzip member cut off before its end")
