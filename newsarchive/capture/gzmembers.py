"""Walking the gzip members of a file, and finding the next good one after damage.

Crash recovery, ``warc check``, the readers of WARC files (index, extract,
export) and the sidecar reader all need to know where each gzip member ends
and whether it is whole: a WARC whose final member was cut off by a kill still
looks fine to ``warcio check``, and warcio stops for good at the first broken
member, losing every intact record after it. This is the one walker they share.

Decompression is bounded: output is produced in pieces of ``CHUNK`` bytes and
either discarded or, when a caller wants the data, kept up to ``max_data``
bytes (a member that inflates to more is reported broken, not held).

With ``resync=True`` the walker goes on after a broken member: it looks for
the next gzip header (``1f 8b 08``) after the broken member's start and
accepts it only if a whole member decompresses from there, so damage costs
the records in the damaged span and nothing after it. The bytes of the
current member are kept for that search up to ``LOOKBACK`` bytes; a broken
member longer than that is searched from the end of the kept window.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1 << 20
#: bytes of a member kept for the search of the next header after damage
LOOKBACK = 16 << 20
#: the gzip magic and the deflate method byte every gzip member starts with
GZIP_MAGIC = b"\x1f\x8b\x08"


@dataclass(frozen=True)
class Member:
    """One gzip member (or a damaged span): where it starts, how long, whether whole.

    ``data`` is its decompressed content when the caller asked for it
    (``keep=True``) and the member is complete.
    """

    offset: int
    length: int
    complete: bool
    error: str | None = None
    data: bytes | None = None


class _Window:
    """A forward-only file seen through a buffer that can be re-read from ``start``."""

    def __init__(self, fh: BinaryIO, chunk_size: int) -> None:
        self.fh = fh
        self.chunk_size = chunk_size
        self.buf = bytearray()
        self.start = 0  # file offset of buf[0]
        self.eof = False

    def more(self) -> bool:
        """Read one more chunk into the buffer; False at end of file."""
        if self.eof:
            return False
        data = self.fh.read(self.chunk_size)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def end(self) -> int:
        """File offset just past the buffered bytes."""
        return self.start + len(self.buf)

    def view(self, pos: int) -> memoryview:
        """Buffered bytes from ``pos`` on (``pos`` must be buffered)."""
        return memoryview(self.buf)[pos - self.start:]

    def drop_before(self, pos: int) -> None:
        """Forget buffered bytes before ``pos``."""
        if pos > self.start:
            cut = min(pos - self.start, len(self.buf))
            del self.buf[:cut]
            self.start += cut

    def find(self, needle: bytes, pos: int) -> int:
        """File offset of ``needle`` at or after ``pos``, reading on as needed; -1 if none."""
        while True:
            at = self.buf.find(needle, max(pos - self.start, 0))
            if at >= 0:
                return self.start + at
            # keep the last bytes: the needle may straddle two chunks
            pos = max(pos, self.end() - len(needle) + 1)
            self.drop_before(pos)
            if not self.more():
                return -1


def _inflate(win: _Window, pos: int, keep: bool, max_data: int) -> tuple[int, str | None, bytes]:
    """Decompress the member at ``pos``; return ``(end, error, data)``.

    ``end`` is where the member ended (or where reading stopped on an error);
    ``error`` is None for a whole member.
    """
    decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
    parts: list[bytes] = []
    size = 0
    fed = pos  # file offset up to which bytes went into decomp
    while True:
        if fed >= win.end() and not win.more():
            return fed, "gzip member cut off before its end", b""
        data = bytes(win.view(fed))
        fed += len(data)
        try:
            out = decomp.decompress(data, CHUNK)
            while True:
                size += len(out)
                if keep:
                    if size > max_data:
                        return fed, f"gzip member inflates to more than {max_data} bytes", b""
                    parts.append(out)
                # At the member's end CPython leaves the bytes after it in
                # unconsumed_tail as well as in unused_data (when the output
                # limit was reached on the way): feeding them again would
                # return b"" forever.
                if decomp.eof or not decomp.unconsumed_tail:
                    break
                out = decomp.decompress(decomp.unconsumed_tail, CHUNK)
        except zlib.error as exc:
            return fed, f"corrupt gzip data: {exc}", b""
        if decomp.eof:
            return fed - len(decomp.unused_data), None, b"".join(parts)
        # keep the member's bytes for a search after damage, within LOOKBACK
        win.drop_before(max(pos, fed - LOOKBACK))


def iter_members(
    fh: BinaryIO,
    chunk_size: int = CHUNK,
    *,
    keep: bool = False,
    max_data: int = 64 << 20,
    resync: bool = False,
) -> Iterator[Member]:
    """Yield every gzip member of ``fh`` in order (see the module docstring).

    Without ``resync`` a broken or cut-off member comes last; with it, a
    damaged span is one incomplete :class:`Member` from the broken member's
    start to the next whole member (or the end of the file), and the walk goes on.
    """
    win = _Window(fh, chunk_size)
    pos = 0
    while True:
        if pos >= win.end() and not win.more():
            return
        end, error, data = _inflate(win, pos, keep, max_data)
        if error is None:
            yield Member(pos, end - pos, True, None, data if keep else None)
            win.drop_before(end)
            pos = end
            continue
        if not resync:
            yield Member(pos, _file_end(win, end) - pos, False, error)
            return
        nxt = _next_whole(win, pos + 1, max_data)
        stop = nxt if nxt >= 0 else _file_end(win, end)
        yield Member(pos, stop - pos, False, error)
        if nxt < 0:
            return
        pos = nxt


def _next_whole(win: _Window, pos: int, max_data: int) -> int:
    """Offset of the first gzip header at or after ``pos`` that starts a whole member."""
    pos = max(pos, win.start)
    while True:
        at = win.find(GZIP_MAGIC, pos)
        if at < 0:
            return -1
        _end, error, _ = _inflate(win, at, False, max_data)
        if error is None:
            return at
        pos = max(at + 1, win.start)


def _file_end(win: _Window, pos: int) -> int:
    """The file's end: read (and forget) whatever is left after ``pos``."""
    win.drop_before(pos)
    while win.more():
        win.drop_before(win.end())
    return max(win.end(), pos)


def next_member_after(fh: BinaryIO, base: int = 0) -> tuple[str, int]:
    """For a stream positioned at a damaged member: ``(why, offset of the next whole member)``.

    ``base`` is the file offset ``fh`` starts at; the offset is -1 when no whole
    member follows. ``why`` says what is wrong with the member at ``base``
    (empty if that member is whole: the damage is in the record, not the gzip).
    """
    walker = iter_members(fh, resync=True)
    first = next(walker, None)
    if first is None:
        return "", -1
    if first.complete:
        following = next(walker, None)
        return "", (base + first.length) if following is not None else -1
    following = next(walker, None)
    while following is not None and not following.complete:
        following = next(walker, None)
    return first.error or "", (base + following.offset) if following is not None else -1


def last_member(fh: BinaryIO, size: int, tail_bytes: int = 1 << 20) -> bytes | None:
    """The content of the member ``fh`` ends with, if that member is whole.

    Reads only the last ``tail_bytes`` of the file (``size`` bytes long): the
    last gzip header in them whose member decompresses to exactly the end of
    the file. None when the file ends in a cut member, or its last member
    starts before the tail.
    """
    if size == 0:
        return None
    fh.seek(max(0, size - tail_bytes))
    tail = fh.read()
    start = tail.rfind(GZIP_MAGIC)
    while start != -1:
        decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            data = decomp.decompress(tail[start:])
            if decomp.eof and not decomp.unused_data:
                return data
        except zlib.error:
            pass
        start = tail.rfind(GZIP_MAGIC, 0, start)
    return None
