"""One crawl's WARC files on disk: ``.open`` while written, one gzip member per record.

Crash safety comes from three rules:

1. A file being written is named ``NAME.warc.gz.open``; only a clean close renames
   it, so a closed ``.warc.gz`` is always complete.
2. Every record is its own gzip member, written with one ``write`` and flushed
   before its location is reported. After a kill the file ends in a sequence of
   complete members, maybe followed by one partial member, which
   :mod:`newsarchive.capture.recovery` cuts off.
3. Sidecars of a WARC file go to ``sidecars/NAME.sidecars.jsonl.gz`` with the same
   rules (a gzip member per line), so they close together with their WARC.

With ``index_lines`` the file set also makes each WARC's CDXJ lines as it
writes its records (:mod:`newsarchive.capture.indexlines`) and hands them to
``on_close`` (``cdxj=``), so the index is built without reading the file again.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypedDict

from newsarchive.capture import records
from newsarchive.capture.indexlines import HEAD_LIMIT, IndexLines
from newsarchive.capture.naming import OPEN_SUFFIX, warc_name
from newsarchive.exceptions import StorageError
from newsarchive.layout import Layout, sidecar_name

logger = logging.getLogger(__name__)


def sidecar_json(sidecar: dict[str, Any]) -> bytes:
    """One sidecar as compact JSON (UTF-8): the payload of its WARC record and,
    with a newline, its line in a sidecar file."""
    return json.dumps(sidecar, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def gzip_member(data: bytes, level: int) -> bytes:
    """``data`` as one complete gzip member."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return compressor.compress(data) + compressor.flush()


@dataclass(frozen=True)
class Location:
    """Where a record lies: file name, offset and length of its gzip member."""

    filename: str
    offset: int
    length: int


class _GzipSink:
    """A write-only file that gzips what it gets into one member, written as it goes."""

    def __init__(self, fh: BinaryIO, level: int, on_write: Callable[[bytes], Any] | None,
                 keep: int = 0) -> None:
        self._fh = fh
        self._on_write = on_write
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        self.written = 0
        self._keep = keep
        self.head = bytearray()  # the first ``keep`` bytes given (uncompressed)

    def _out(self, data: bytes) -> None:
        if self._on_write is not None and data:
            self._on_write(data)
        view = memoryview(data)
        while view:
            n = self._fh.write(view)
            view = view[n:]
            self.written += n

    def write(self, data: bytes) -> int:
        if len(self.head) < self._keep:
            self.head += data[:self._keep - len(self.head)]
        self._out(self._compressor.compress(data))
        return len(data)

    def flush(self) -> None:
        pass  # a member ends in finish(); warcio calls flush() after each record

    def finish(self) -> None:
        self._out(self._compressor.flush())


class _MemberFile:
    """An append-only file of gzip members named ``*.open`` until closed.

    Unbuffered: each member goes to the OS in ``write`` calls of its own, so
    after ``append`` returns the member survives a kill of the process. If a
    write fails (full disk), the file is cut back to its last whole member at
    once, so what is closed later is never a half-written record.

    Given a ``digest`` factory (the crawl's wiring hands in
    :class:`~newsarchive.store.digest.RunningDigest`: SHA-256 and CRC32, about
    1 ms per MB), it also digests what it writes, so the uploader need not read
    the closed file again to record them.
    """

    def __init__(self, final_path: Path, fsync: str,
                 digest: Callable[[], Any] | None = None) -> None:
        self.final_path = final_path
        self.open_path = final_path.with_name(final_path.name + OPEN_SUFFIX)
        self.fsync = fsync
        self._fh: BinaryIO = open(self.open_path, "xb", buffering=0)  # noqa: SIM115
        self.size = 0
        self._digest: Any | None = digest() if digest is not None else None

    def append(self, member: bytes) -> int:
        offset = self.size
        try:
            view = memoryview(member)
            while view:
                written = self._fh.write(view)
                view = view[written:]
            if self.fsync == "record":
                os.fsync(self._fh.fileno())
        except OSError as exc:
            try:
                os.ftruncate(self._fh.fileno(), self.size)
            except OSError:
                logger.error("cannot cut %s back to %d bytes", self.open_path, self.size)
            self._digest = None  # the cut may have failed: no digest to vouch for
            raise StorageError(
                f"cannot write {self.open_path}: {exc.strerror or exc}; "
                "free some space (or fix the folder's permissions) and run the crawl again"
            ) from exc
        self.size += len(member)
        if self._digest is not None:
            self._digest.update(member)
        return offset

    def append_stream(self, produce: Callable[[BinaryIO], Any], level: int,
                      head: bytearray | None = None) -> int:
        """Append one gzip member of what ``produce(out)`` writes to ``out``, compressing as it goes.

        For records too large to build in memory. If anything fails half way,
        the file is cut back to where the member began. ``head`` gets the
        member's first :data:`~newsarchive.capture.indexlines.HEAD_LIMIT`
        bytes, uncompressed.
        """
        offset = self.size
        digest = self._digest
        sink = _GzipSink(self._fh, level, digest.update if digest is not None else None,
                         HEAD_LIMIT if head is not None else 0)
        try:
            produce(sink)  # type: ignore[arg-type]
            sink.finish()
            if self.fsync == "record":
                os.fsync(self._fh.fileno())
        except BaseException as exc:
            try:
                os.ftruncate(self._fh.fileno(), offset)
                self._fh.seek(offset)
            except OSError:
                logger.error("cannot cut %s back to %d bytes", self.open_path, offset)
            self._digest = None  # it has seen the bytes that were cut
            if isinstance(exc, OSError):
                raise StorageError(
                    f"cannot write {self.open_path}: {exc.strerror or exc}; "
                    "free some space (or fix the folder's permissions) and run the crawl again"
                ) from exc
            raise
        self.size = offset + sink.written
        if head is not None:
            head += sink.head
        return offset

    def digest(self) -> dict[str, Any]:
        """``size``, ``sha256`` (hex) and ``crc32`` of what was written; empty if unsure."""
        if self._digest is None:
            return {}
        done = self._digest.result()
        return {"size": done.size, "sha256": done.sha256, "crc32": done.crc32}

    def close(self) -> Path:
        if self.fsync != "never":
            os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self.open_path, self.final_path)
        return self.final_path


class FileOptions(TypedDict, total=False):
    """How a :class:`WarcFileSet` names, rotates, compresses and syncs its files.

    The defaults are :class:`WarcFileSet`'s; the writer service passes these on.
    """

    prefix: str
    max_size: int
    gzip_level: int
    info: Mapping[str, str] | None
    fsync: str
    index_lines: bool


class WarcFileSet:
    """Writes records into rotating WARC files of one crawl, in ``DIR/warc``.

    Not thread-safe: one thread (the writer service's) owns it.
    """

    def __init__(
        self,
        directory: Path,
        *,
        prefix: str = "newsarchive",
        max_size: int = 1_000_000_000,
        gzip_level: int = 6,
        info: Mapping[str, str] | None = None,
        fsync: str = "close",
        clock: Callable[[], datetime] | None = None,
        on_close: Callable[..., None] | None = None,
        digest: Callable[[], Any] | None = None,
        host: str | None = None,
        index_lines: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.host = host  # the file names' last part; None: this machine's name
        self.digest = digest  # a running digest per file, for on_close (see _MemberFile)
        layout = Layout(self.directory)
        self.warc_dir = layout.warc_dir
        self.sidecar_dir = layout.sidecar_dir
        self.tmp_dir = layout.tmp_dir
        self.index_lines = index_lines  # make each WARC's CDXJ lines as it is written
        self._lines: IndexLines | None = None
        self.prefix = prefix
        self.max_size = max_size
        self.gzip_level = gzip_level
        self.info = dict(info or {})
        self.fsync = fsync
        self.clock = clock or (lambda: datetime.now(UTC))
        self.on_close = on_close
        self._serial = 0
        self._warc: _MemberFile | None = None
        self._warcinfo_id: str | None = None
        self._sidecars: _MemberFile | None = None
        self.closed_files: list[Path] = []
        self.records_written = 0
        self.bytes_written = 0
        try:
            self.warc_dir.mkdir(parents=True, exist_ok=True)
            self.sidecar_dir.mkdir(parents=True, exist_ok=True)
            if index_lines:
                self.tmp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create {self.warc_dir}: {exc.strerror or exc}") from exc

    @property
    def current_name(self) -> str | None:
        """Name (without ``.open``) of the file being written, if any."""
        return self._warc.final_path.name if self._warc else None

    def _next_name(self, when: datetime) -> str:
        while True:
            self._serial += 1
            name = warc_name(self.prefix, when, self._serial, self.host)
            path = self.warc_dir / name
            if not path.exists() and not (path.with_name(name + OPEN_SUFFIX)).exists():
                return name

    def _open(self, earliest: datetime | None = None) -> _MemberFile:
        when = self.clock()
        if earliest is not None and earliest < when:
            when = earliest  # the warcinfo record is the file's earliest
        name = self._next_name(when)
        warc = _MemberFile(self.warc_dir / name, self.fsync, self.digest)
        self._warc = warc
        if self.index_lines:
            self._lines = IndexLines(name, self.tmp_dir)
        info = {"format": "WARC File Format 1.1", **self.info}
        self._warcinfo_id = None
        warcinfo = records.warcinfo_record(name, info, when)
        self._append(warcinfo)
        self._warcinfo_id = records.record_id_of(warcinfo)
        logger.info("opened %s", warc.open_path)
        return warc

    def _append(self, raw: bytes) -> Location:
        assert self._warc is not None
        if self._warcinfo_id:
            raw = records.with_warcinfo_id(raw, self._warcinfo_id)
        member = gzip_member(raw, self.gzip_level)
        offset = self._warc.append(member)
        if self._lines is not None:
            self._lines.add(raw, offset, len(member))
        self.records_written += 1
        self.bytes_written += len(member)
        return Location(self._warc.final_path.name, offset, len(member))

    def write(self, raws: list[bytes], earliest: datetime | None = None) -> list[Location]:
        """Append records (uncompressed bytes), each as a gzip member.

        The records of one call land in the same file: a request and its
        response are never split by rotation. ``earliest`` is their earliest
        WARC-Date: a file opened for them dates its warcinfo no later. Each
        record gets the file's ``WARC-Warcinfo-ID``.
        """
        warc = self._warc
        if warc is not None and warc.size >= self.max_size:
            self.close_current()
            warc = None
        if warc is None:
            self._open(earliest)
        return [self._append(raw) for raw in raws]

    def write_streamed(self, produce: Callable[[BinaryIO, str | None], Any], raws: list[bytes],
                       earliest: datetime | None = None) -> list[Location]:
        """Like :meth:`write`, the first record streamed by ``produce(out, warcinfo_id)``.

        For a spooled body: ``produce`` writes the record to ``out``, naming
        the file's warcinfo record.
        """
        warc = self._warc
        if warc is not None and warc.size >= self.max_size:
            self.close_current()
            warc = None
        if warc is None:
            warc = self._open(earliest)
        info_id = self._warcinfo_id
        head = bytearray() if self._lines is not None else None
        offset = warc.append_stream(lambda out: produce(out, info_id), self.gzip_level, head)
        length = warc.size - offset
        if self._lines is not None and head is not None:
            self._lines.add(bytes(head), offset, length)
        self.records_written += 1
        self.bytes_written += length
        first = Location(warc.final_path.name, offset, length)
        return [first, *(self._append(raw) for raw in raws)]

    def write_sidecar(self, line: bytes, record: bytes | None = None) -> None:
        """Store one sidecar: its ``metadata`` record ``record`` (uncompressed, if
        given) in the current WARC file, then its ``line`` (:func:`sidecar_json` and a newline)
        in that file's sidecar file.

        The record goes first: the WARC files are the truth (a page whose WARC
        holds no sidecar record is extracted again after a kill), so a kill
        between the two writes leaves the WARC's last record without its line,
        which :func:`~newsarchive.capture.recovery.restore_sidecar_line` puts
        back, never a line without its record (a page extracted twice). The
        two land in one file pair, also when the record starts a new file.
        """
        if record is not None:
            self.write([record])
        if self._warc is None:
            self._open()
        assert self._warc is not None
        if self._sidecars is None:
            name = sidecar_name(self._warc.final_path.name)
            self._sidecars = _MemberFile(self.sidecar_dir / name, self.fsync, self.digest)
        self._sidecars.append(gzip_member(line, self.gzip_level))

    def close_current(self) -> None:
        """Close the current WARC file (and its sidecars), renaming them final."""
        warc, sidecars, lines = self._warc, self._sidecars, self._lines
        self._warc = self._sidecars = self._lines = None
        for member_file, kind in ((warc, "warc"), (sidecars, "sidecars")):
            if member_file is None:
                continue
            path = member_file.close()
            self.closed_files.append(path)
            logger.info("closed %s (%d bytes)", path, member_file.size)
            extra: dict[str, Any] = member_file.digest()
            if kind == "warc" and lines is not None:
                if lines.complete:
                    extra["cdxj"] = lines  # the receiver closes it
                else:
                    lines.close()
                lines = None
            if self.on_close is not None:
                self.on_close(path, kind, **extra)
            elif "cdxj" in extra:
                extra["cdxj"].close()

    def close(self) -> None:
        """Close everything; the file set can be reopened by writing again."""
        self.close_current()
