"""Reading the records of any WARC or ARC file, going on past damage.

Every reader of archive files (``warc check``, ``index``, ``extract``,
``export``) goes through :class:`RecordReader`. It is warcio's
``ArchiveIterator`` (WARC/1.0, WARC/1.1, ARC and ARC-in-gzip, the ARC records
converted to WARC headers as pywb and cdxj-indexer read them), with what
warcio lacks for a batch that must not stop at one bad spot:

- a record cut off before its end, or a gzip member cut off after the last
  record, is a fault (warcio stops quietly there);
- after damage in a gzipped file, reading resumes at the next whole gzip
  member (:func:`newsarchive.capture.gzmembers.next_member_after`), so one
  broken member costs its own records and nothing after it;
- a record whose block digest fails is a fault too, and marked not whole
  (``record.newsarchive_whole``) so no reader uses it (payload digests,
  whose rules vary between writers, are left to ``warc check``);
- every fault is one printable line in :attr:`RecordReader.faults`, with the
  file offset; warcio's own warnings (written straight to stderr) become
  :attr:`RecordReader.notes` instead of leaking onto the terminal;
- formats warcio cannot read (LZ4, Zstandard, bzip2, xz) get a clear line.

It quacks like an ``ArchiveIterator`` (``get_record_offset``,
``get_record_length``, ``read_to_end``), with offsets in the whole file, so
cdxj-indexer can iterate it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from newsarchive.capture.gzmembers import next_member_after

#: first bytes of compressed formats warcio does not read, and their names
UNSUPPORTED = {
    b"\x04\x22\x4d\x18": "LZ4",
    b"\x28\xb5\x2f\xfd": "Zstandard",
    b"BZh": "bzip2",
    b"\xfd7zXZ": "xz",
}
MAX_LINE = 160
_WARCIO_OFFSET = re.compile(r"Offset: (\d+)")

Opener = Callable[[int], BinaryIO]


def printable(message: str, limit: int = MAX_LINE) -> str:
    """``message`` as one printable line of at most ``limit`` characters."""
    clean = "".join(c if c.isprintable() else "?" for c in " ".join(message.split()))
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def unsupported_format(head: bytes) -> str | None:
    """The name of a compressed format warcio cannot read, from a file's first bytes."""
    for magic, name in UNSUPPORTED.items():
        if head.startswith(magic):
            return name
    return None


def file_opener(path: str) -> Opener:
    """A function opening the local file ``path`` at a byte offset (for a file
    in an object store: :func:`newsarchive.store.opener.opener_for`)."""

    def open_at(offset: int) -> BinaryIO:
        fh = open(path, "rb")  # noqa: SIM115 (the caller closes it)
        if offset:
            fh.seek(offset)
        return fh

    return open_at


def skip(fh: BinaryIO, count: int) -> None:
    """Read and drop ``count`` bytes of a forward-only stream."""
    while count > 0:
        data = fh.read(min(count, 1 << 20))
        if not data:
            return
        count -= len(data)


class _Counting:
    """A read-only wrapper counting the bytes read, with the first bytes peeked."""

    def __init__(self, raw: BinaryIO, head: bytes = b"") -> None:
        self.raw = raw
        self.head = head
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if self.head:
            data, self.head = (self.head, b"") if size < 0 or size >= len(self.head) else (
                self.head[:size], self.head[size:])
        else:
            data = self.raw.read(size)
        self.count += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        head = b""
        if self.head:
            nl = self.head.find(b"\n")
            if nl >= 0 or 0 <= size <= len(self.head):
                return self.read(nl + 1 if nl >= 0 else size)
            head = self.read(len(self.head))
            size = size - len(head) if size >= 0 else -1
        data = self.raw.readline(size)
        self.count += len(data)
        return head + data


_reading = threading.local()  # .sink: where warcio's chatter goes on this thread, if anywhere


class _SysForWarcio:
    """What warcio's modules see as ``sys``: ``stderr`` is the active reader's sink.

    warcio writes warnings (a record not followed by its blank lines, a gzip
    error) straight to ``sys.stderr``. Redirecting ``sys.stderr`` itself would
    swallow other threads' output too (the crawl indexes files in its writer
    thread), so warcio alone gets this view, per thread.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(sys, name)

    @property
    def stderr(self) -> Any:
        sink = getattr(_reading, "sink", None)
        return sink if sink is not None else sys.stderr


def _warcio_log_filter(record: logging.LogRecord) -> bool:
    """warcio's log warnings go to the active reader's sink, not the log."""
    sink = getattr(_reading, "sink", None)
    if sink is None:
        return True
    sink.write(record.getMessage() + "\n")
    return False


def _divert_warcio() -> None:
    """Point warcio's stderr writes and log warnings at the active reader (once)."""
    import warcio.archiveiterator
    import warcio.bufferedreaders
    import warcio.digestverifyingreader

    view = _SysForWarcio()
    for module in (warcio.archiveiterator, warcio.bufferedreaders,
                   warcio.digestverifyingreader):
        if not isinstance(getattr(module, "sys", None), _SysForWarcio):
            module.sys = view  # type: ignore[attr-defined]
    log = logging.getLogger("warcio.recordloader")
    if _warcio_log_filter not in log.filters:
        log.addFilter(_warcio_log_filter)


@dataclass(frozen=True)
class Fault:
    """One damaged spot of a file."""

    offset: int
    message: str

    def __str__(self) -> str:
        return printable(f"offset {self.offset}: {self.message}")


class RecordReader:
    """The records of one archive file, in order, going on past damage (module docstring).

    ``stream`` is read first; after damage, ``reopen(offset)`` gives a stream
    at a later offset (without it, reading ends at the first damage).
    ``loader_hook`` is called with each new warcio record loader (``warc
    check`` installs its HTTP header recorder there).
    """

    def __init__(self, stream: BinaryIO, name: str, *, reopen: Opener | None = None,
                 verify_blocks: bool = True,
                 loader_hook: Callable[[Any], None] | None = None) -> None:
        self.name = name
        self.stream = stream
        self.reopen = reopen
        self.verify_blocks = verify_blocks
        self.loader_hook = loader_hook
        self.faults: list[Fault] = []
        self.notes: list[str] = []
        self.records = 0
        self.gzipped = False
        self.size = 0  # bytes read from the file (its size once read to the end)
        self._it: Any = None
        self._base = 0
        self._member: tuple[int, int] | None = None
        self._record: Any = None
        self._whole = True
        self._arc = False  # the file is an ARC file
        self._arc_record = False  # the record just read was an ARC record
        self._counting: _Counting | None = None

    # -- the ArchiveIterator face (what cdxj-indexer uses) --------------------------
    def get_record_offset(self) -> int:
        """File offset of the current record."""
        return self._finish()[0]

    def get_record_length(self) -> int:
        """Length of the current record in the file (its gzip member, if gzipped)."""
        return self._finish()[1]

    def read_to_end(self, record: Any = None) -> None:
        """Read the current record to its end."""
        self._finish()

    @property
    def format(self) -> str:
        """``arc`` once an ARC record was read, else ``warc``."""
        return "arc" if self._arc else "warc"

    def _watch_arc(self, loader: Any) -> None:
        """Note when warcio's ARC header parser reads a record (it converts them to WARC)."""
        parse = loader.arc_parser.parse

        def parse_arc(*args: Any, **kwargs: Any) -> Any:
            headers = parse(*args, **kwargs)
            self._arc_record = True
            return headers

        loader.arc_parser.parse = parse_arc

    def whole(self) -> bool:
        """Whether the current record was read to its declared end."""
        self._finish()
        return self._whole

    # -- iteration ------------------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        from warcio.archiveiterator import ArchiveIterator
        from warcio.exceptions import ArchiveLoadFailed

        _divert_warcio()
        stream, start = self.stream, 0
        head = stream.read(4)
        fmt = unsupported_format(head)
        if fmt is not None:
            self._fault(0, f"{fmt}-compressed file: newsarchive (like warcio and pywb) reads "
                           "only uncompressed or gzip-compressed WARC/ARC files; decompress it first")
            return
        self.gzipped = head.startswith(b"\x1f\x8b")
        if not head:
            self._fault(0, "empty file")
            return
        while True:
            counting = self._counting = _Counting(stream, head)
            head = b""
            self._base = start
            end = start  # where the last whole record ended
            damage: tuple[int, str] | None = None
            try:
                with self._quiet():
                    self._it = ArchiveIterator(counting, check_digests=True, arc2warc=True)
                    self._watch_arc(self._it.loader)
                    if self.loader_hook is not None:
                        self.loader_hook(self._it.loader)
                    records = iter(self._it)
                while True:
                    self._arc_record = False
                    with self._quiet():
                        record = next(records, None)
                    if record is None:
                        break
                    if self.records == 0:
                        self._arc = self._arc_record
                        if self._arc and record.rec_type != "warcinfo":
                            # warcio reads any line of text as an ARC header: an ARC file
                            # starts with its filedesc record, anything else is no archive
                            raise ArchiveLoadFailed("Unknown archive format")
                    elif self._arc_record != self._arc:
                        # garbage (a damaged member) read as a record of the other format
                        raise ArchiveLoadFailed("Unknown archive format")
                    self.records += 1
                    self._record, self._member = record, None
                    yield record
                    offset, length = self._finish()
                    if length < 0:  # warcio's sign of several records in one gzip member
                        damage = (offset, "a gzip member holds more than one record "
                                          "(compressed as one stream, not per record)")
                        break
                    if not self._whole:
                        damage = (offset, "record cut off before its end")
                        break
                    end = offset + length
                if damage is None and self.gzipped and start + counting.count > end:
                    damage = (end, "gzip member cut off before its end")
            except ArchiveLoadFailed as exc:
                reason = str(exc).strip().split(", first line:")[0].strip()
                if "non-chunked gzip" in reason:
                    reason = "a gzip member holds more than one record (not a valid WARC.gz)"
                damage = (end, f"not a WARC or ARC record ({reason})")
            except (OSError, EOFError, ValueError, zlib.error) as exc:
                damage = (end, f"unreadable ({type(exc).__name__}: {exc})")
            finally:
                self.size = max(self.size, start + counting.count)
                if stream is not self.stream:
                    stream.close()
            self._record = None
            if damage is None:
                return
            start = self._resync(*damage)
            if start < 0:
                return
            assert self.reopen is not None
            stream = self.reopen(start)

    def _eof(self) -> bool:
        """Whether the file has no byte left (warcio's reader may hold some buffered)."""
        reader = self._it.reader
        return not reader.rem_length() and self._counting is not None and (
            not self._counting.read(1))

    def _resync(self, offset: int, reason: str) -> int:
        """Record the fault at ``offset``; return where reading resumes, or -1."""
        if not self.gzipped or self.reopen is None:
            self._fault(offset, reason)
            return -1
        with self.reopen(offset) as fh:
            why, nxt = next_member_after(fh, offset)
        where = f"; reading resumed at offset {nxt}" if nxt >= 0 else ""
        self._fault(offset, f"{why or reason}{where}")
        return nxt

    def _finish(self) -> tuple[int, int]:
        """Read the current record to its end; its ``(offset, length)`` in the file."""
        if self._member is None:
            it, record = self._it, self._record
            with self._quiet():
                it.read_to_end()
            cut = getattr(record.raw_stream, "limit", 0) > 0
            decompressor = it.reader.decompressor if it.reader else None
            self._whole = not cut and (decompressor is None or bool(
                getattr(decompressor, "eof", True)))
            if cut and self._arc and decompressor is None and self._eof():
                self.notes.append(printable(
                    f"offset {self._base + it.get_record_offset()}: ARC record shorter than its "
                    "length field says; read to the end of the file, as warcio and pywb do"))
                self._whole = True
            self._member = (self._base + it.get_record_offset(), it.get_record_length())
            intact = self._whole and self._member[1] >= 0
            length = (record.rec_headers.get_header("Content-Length") or "").strip()
            if intact and length and not length.isdigit():
                # warcio reads such a record as empty; its bytes cannot be trusted
                self._fault(self._member[0], f"record length {length[:20]!r} is not a number")
                intact = False
            if intact and self.verify_blocks and record.digest_checker.passed is False:
                failed = [p for p in record.digest_checker.problems if p.startswith("block")]
                if failed:  # the bytes are not those written: not a record to use
                    self._fault(self._member[0], failed[0])
                    intact = False
            record.newsarchive_whole = intact
        return self._member

    def _fault(self, offset: int, message: str) -> None:
        self.faults.append(Fault(offset, message))

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        """Turn what warcio writes to stderr or logs into notes (offsets made file-wide)."""
        buf = io.StringIO()
        before = getattr(_reading, "sink", None)
        _reading.sink = buf
        try:
            yield
        finally:
            _reading.sink = before
        text = buf.getvalue().strip()
        if text:
            text = _WARCIO_OFFSET.sub(lambda m: f"Offset: {self._base + int(m.group(1))}", text)
            if "Record not followed by newline" in text:
                offset = _WARCIO_OFFSET.search(text)
                where = f"offset {offset.group(1)}: " if offset else ""
                self.notes.append(printable(
                    f"{where}record not followed by its two blank lines "
                    "(its Content-Length may be wrong)"))
            else:
                self.notes.append(printable(text))
