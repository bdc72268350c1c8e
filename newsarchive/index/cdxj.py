"""CDXJ indexes of WARC files, built with cdxj-indexer (the library pywb uses).

One index file per WARC, ``indexes/NAME.cdxj`` (see :func:`index_name`),
sorted by SURT key so pywb can binary-search it. Only replayable records are
indexed (``response``, ``revisit``, ``resource``): ``metadata`` records are
about captures, not captures (and sidecar records written before they got
their own ``urn:newsarchive:sidecar:`` target URIs carry the page's own URL,
so they would compete with the page in replay). ARC files are indexed too,
as pywb reads them. Damage never stops a file: see :func:`index_warc`. Request
records are still read, so POST captures get their ``__wb_post_data`` key
(cdxj-indexer's post-append mode, as pywb's own ``wb-manager`` does).

A WARC the crawl writes is not read again: its writer made the same lines as it
wrote each record (:mod:`newsarchive.capture.indexlines`), and
:func:`index_from_lines` only sorts them as cdxj-indexer does.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import posixpath
import re
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from newsarchive.capture.indexlines import INDEXED_RECORDS, IndexLines
from newsarchive.capture.reading import Opener, RecordReader
from newsarchive.exceptions import WarcError
from newsarchive.store.opener import opener_for

logger = logging.getLogger(__name__)

__all__ = ["INDEXED_RECORDS", "index_from_lines", "index_warc", "sort_lines"]

#: characters of index lines sorted in memory; more are sorted in runs on disk and
#: merged (cdxj-indexer's own external sort). Its default, 32 MB, was what a crawl's
#: indexer grew by at the end of a 1 GB WARC (issue #19); 4 MB sorts a 1 GB
#: WARC's ~40 MB index in ten runs.
SORT_BUFFER = 4 << 20


_DATE_FIELDS = re.compile(r"^(\d{4})-?(\d{1,2})-?(\d{1,3})(?:[T ](\d{1,2}):?(\d{1,2}):?(\d{1,2}))?")


def lenient_date(value: str) -> str | None:
    """A W3C date made of an invalid one, each field brought into its range; None if hopeless.

    ClueWeb09's WARCs say ``2008-10-294T05:21:46-0700``; cdxj-indexer (and so
    pywb's ``wb-manager``) stop at such a record. The capture is still worth
    indexing, at the nearest valid time.
    """
    import calendar

    match = _DATE_FIELDS.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g or 0) for g in match.groups())
    month = min(max(month, 1), 12)
    day = min(max(day, 1), calendar.monthrange(year, month)[1])
    return (f"{year:04d}-{month:02d}-{day:02d}T{min(hour, 23):02d}:{min(minute, 59):02d}:"
            f"{min(second, 59):02d}Z")


def _indexer_class() -> type:
    """cdxj-indexer's indexer reading through :class:`~newsarchive.capture.reading.RecordReader`."""
    with warnings.catch_warnings():
        # cdxj-indexer imports pyamf, which imports the deprecated pkg_resources.
        warnings.simplefilter("ignore", UserWarning)
        from cdxj_indexer.main import CDXJIndexer

    class ResyncingIndexer(CDXJIndexer):  # type: ignore[misc,valid-type]
        """Goes on past damage (next whole gzip member); never indexes a cut-off record."""

        reopen: Opener | None = None
        reader: RecordReader | None = None

        def _create_record_iter(self, input_: BinaryIO) -> RecordReader:
            self.reader = RecordReader(input_, self.force_filename or "", reopen=self.reopen)
            return self.reader

        def process_index_entry(self, it: Any, record: Any, filename: str, output: Any) -> None:
            if getattr(record, "newsarchive_whole", True):
                super().process_index_entry(it, record, filename, output)

        def _write_line(self, out: Any, index: Any, record: Any, filename: str) -> None:
            date = record.rec_headers.get_header("WARC-Date") or ""
            try:
                super()._write_line(out, index, record, filename)
            except ValueError:
                fixed = lenient_date(date)
                if fixed is None:
                    raise
                logger.warning("%s: WARC-Date %r is not a date; indexed as %s",
                               filename, date, fixed)
                record.rec_headers.replace_header("WARC-Date", fixed)
                super()._write_line(out, index, record, filename)

    return ResyncingIndexer


def index_warc(source: str | Path, dest: Path, faults: list[str] | None = None, *,
               endpoint_url: str | None = None, region: str | None = None) -> int:
    """Index one WARC/ARC file (local path or ``s3://`` URI) into ``dest``; return its line count.

    Damage does not stop it: every record that can be read is indexed
    (reading resumes at the next whole gzip member), and each fault is
    appended to ``faults`` as one line. A file with no readable record at
    all raises :class:`WarcError`. The index is written to ``dest.tmp`` and
    renamed, so a reader (pywb, the uploader) never sees half an index.
    """
    name = posixpath.basename(str(source))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    open_at = opener_for(str(source), endpoint_url=endpoint_url, region=region)
    try:
        with open_at(0) as fh, open(tmp, "w", encoding="utf-8") as out:
            indexer = _indexer_class()(
                out,
                [fh],
                filename=name,
                sort=True,
                max_sort_buff_size=SORT_BUFFER,
                post_append=True,
                records=INDEXED_RECORDS,
            )
            indexer.reopen = open_at
            indexer.process_all()
        reader = indexer.reader
        problems = [str(f) for f in reader.faults] if reader is not None else []
        if reader is not None and reader.records == 0:
            raise WarcError(f"{source}: {problems[0] if problems else 'no WARC or ARC records'}; "
                            "nothing to index (see `newsarchive warc check`)")
        os.replace(tmp, dest)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, WarcError):
            raise
        if isinstance(exc, OSError | ValueError) or type(exc).__module__.startswith("warcio"):
            raise WarcError(f"{source}: cannot index this WARC file ({exc}); "
                            "run `newsarchive warc check` on it") from exc
        raise
    for problem in problems:
        logger.warning("%s: %s", name, problem)
        if faults is not None:
            faults.append(f"{name}: {problem}")
    with open(dest, "rb") as fh:
        lines = sum(1 for _ in fh)
    logger.info("indexed %s: %d captures -> %s", name, lines, dest)
    return lines


def sort_lines(lines: Iterable[str], out: IO[str], buffer: int = SORT_BUFFER) -> None:
    """Write ``lines`` to ``out`` sorted, each distinct line once, as cdxj-indexer's
    ``SortingWriter`` does: runs of ``buffer`` characters sorted in memory, more than
    one run merged from temporary files.

    Its own code, not cdxj-indexer's: importing cdxj-indexer imports pyamf and
    ``pkg_resources``, ~0.3 CPU-s of a crawl (see :mod:`newsarchive.capture.indexlines`).
    """
    runs: list[IO[str]] = []
    chunk: list[str] = []
    size = 0

    def unique(sorted_lines: Iterable[str], to: IO[str]) -> None:
        last = None
        for line in sorted_lines:
            if line != last:
                to.write(line)
            last = line

    def spill() -> None:
        run = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed below)
        chunk.sort()
        unique(chunk, run)
        run.seek(0)
        runs.append(run)
        chunk.clear()

    try:
        for line in lines:
            chunk.append(line)
            size += len(line)
            if size > buffer:
                spill()
                size = 0
        if not runs:
            chunk.sort()
            unique(chunk, out)
            return
        if chunk:
            spill()
        unique(heapq.merge(*runs), out)
    finally:
        for run in runs:
            run.close()


def index_from_lines(lines: IndexLines, dest: Path, buffer: int = SORT_BUFFER) -> int:
    """Write the index of a WARC from the lines its writer made (then closed); return
    the line count.

    The lines are sorted as :func:`index_warc` sorts them (:func:`sort_lines`),
    written to ``dest.tmp`` and renamed, so the file is the one
    :func:`index_warc` writes.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    try:
        with lines.file as source, open(tmp, "w", encoding="utf-8") as out:
            source.seek(0)
            sort_lines(source, out, buffer)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    logger.info("indexed %s: %d captures -> %s", lines.filename, lines.lines, dest)
    return lines.lines


@dataclass(frozen=True)
class CdxjLine:
    """One parsed CDXJ line."""

    urlkey: str
    timestamp: str  # 14 digits, UTC
    url: str
    mime: str | None
    status: int | None
    digest: str | None
    length: int
    offset: int
    filename: str

    @property
    def is_revisit(self) -> bool:
        """Whether the line is a revisit record (pywb resolves it to its original)."""
        return self.mime == "warc/revisit"


def parse_line(line: str) -> CdxjLine:
    """Parse ``URLKEY TIMESTAMP {json}``."""
    urlkey, timestamp, blob = line.rstrip("\n").split(" ", 2)
    data = json.loads(blob)
    status = data.get("status")
    return CdxjLine(
        urlkey=urlkey,
        timestamp=timestamp,
        url=data.get("url", ""),
        mime=data.get("mime"),
        status=int(status) if status and str(status).isdigit() else None,
        digest=data.get("digest"),
        length=int(data.get("length", 0)),
        offset=int(data.get("offset", 0)),
        filename=data.get("filename", ""),
    )


def iter_index(path: str | Path) -> Iterator[CdxjLine]:
    """Stream the lines of a CDXJ file (local path or ``s3://`` URI)."""
    import io

    from newsarchive.store import open_input

    with open_input(str(path)) as raw:
        for line in io.TextIOWrapper(raw, encoding="utf-8"):
            if line.strip() and not line.startswith("!"):
                yield parse_line(line)
