"""HTML pages of a WARC file, each with its place in the archive.

:class:`PageReader` streams one WARC (local file or S3 object) with warcio and
yields an :class:`ArchivedPage` for every ``response`` record of an HTML page
with status 200: its URL, the body with its Content-Encoding undone (warcio's
``content_stream()`` decodes chunked framing and gzip/br/deflate; records keep
the bytes as sent), and the sidecar schema's ``capture`` object -- file name,
offset and length of the record's gzip member, record id, payload digest and
WARC-Date.

A page rendered in a browser during the crawl also has its DOM in the archive
as a ``resource`` record ``urn:dom:URL`` with ``WARC-Concurrent-To`` the page's
response (see :mod:`newsarchive.fetch.render.handler`). That DOM is what the
crawl extracted, so it is preferred here too: the capture still points at the
response (as the crawl's own sidecar does), flagged ``"rendered": true``. The
DOM record comes after the response, with the browser's other responses in
between, so each page waits in a bounded window of records
(:data:`WINDOW_RECORDS`) before it is yielded; pages leave the window in the
order of their first record (a lone DOM record's page too), and a yielded
page's id is remembered for two more windows. Everything the reader decides
thus depends only on a bounded run of records before it, which is what lets
``extract --jobs`` read a file in parts (see :class:`PageReader`). A DOM whose document was archived as a ``revisit`` (same bytes as an
earlier page: client-rendered shells often are) points at that revisit, as the
crawl's sidecar does; a DOM with neither in the window points at itself.

Damage is reported, never swallowed, and never stops the file: records are
read with :class:`~newsarchive.capture.reading.RecordReader`, which names a
cut-off record or gzip member and resumes at the next whole gzip member. Every
readable page is yielded first; then, if there was damage,
:class:`~newsarchive.exceptions.WarcError` names the file, the first damaged
offset and how many more (all of them are in :attr:`PageReader.faults`).
ARC files are read too (their records converted to WARC fields, as pywb does).
"""

from __future__ import annotations

import logging
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from newsarchive.capture.reading import Opener, RecordReader
from newsarchive.exceptions import WarcError

logger = logging.getLogger(__name__)

DOM_PREFIX = "urn:dom:"
#: records a page waits for its DOM resource record (the browser's sub-responses
#: of one page come in between)
WINDOW_RECORDS = 400

#: body bytes held by waiting pages at most; beyond it the oldest is yielded
WINDOW_BYTES = 64 << 20
#: bigger bodies are skipped (the extractor refuses them anyway)
MAX_BODY = 20_000_000
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def lead_records(window_records: int = WINDOW_RECORDS) -> int:
    """Records a part of a file is read from before its own (``extract --jobs``).

    A page waits ``window_records`` records, its id (or a revisit) is
    remembered twice as long after that: a lead of three windows rebuilds what a
    whole read knows at the part's start, two more let a DOM record in the lead
    whose response lies before it be forgotten as a whole read forgets it.
    """
    return 5 * window_records


@dataclass
class ArchivedPage:
    """One HTML page of a WARC: what the extractor needs, and where it lies."""

    url: str
    body: bytes
    content_type: str | None
    capture: dict[str, Any]
    refers_to: str  # record id the sidecar refers to (the page's response)
    seen_at: int = 0  # number of its first record, for the waiting window


@dataclass
class ReadStats:
    """What the reader met, for progress lines and the summary."""

    records: int = 0
    pages: int = 0
    rendered: int = 0
    skipped: int = 0  # HTML 200 responses not readable (body too big, bad encoding)
    problems: list[str] = field(default_factory=list)


def _is_html(content_type: str | None, body: bytes) -> bool:
    if content_type:
        return content_type.split(";", 1)[0].strip().lower() in _HTML_TYPES
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


class PageReader:
    """Iterate the HTML pages of one WARC stream (see the module docstring).

    ``name`` is the file name put in ``capture["warc_filename"]`` and in error
    messages. Iterate once; :attr:`stats` counts as it goes.

    ``start`` is the file offset ``stream`` starts at (a record's start).
    ``part=(lead, owned)`` reads one part of a file (``extract --jobs``):
    ``stream`` starts ``lead`` records before the part (:func:`lead_records`,
    fewer at the file's start), whose pages are read
    only to know what waits in the window; the part's own ``owned`` records
    follow, and reading goes on past them only until the part's last page has
    waited its window. Pages are yielded, and counted, by the part holding
    their first record, so the parts of a file together yield exactly the
    pages of one whole read, in the same order.
    """

    def __init__(self, stream: BinaryIO, name: str, *, window_records: int = WINDOW_RECORDS,
                 window_bytes: int = WINDOW_BYTES, reopen: Opener | None = None,
                 part: tuple[int, int] | None = None, start: int = 0) -> None:
        self.stream = stream
        self.name = name
        self.reopen = reopen or _reseeker(stream)
        self.window_records = window_records
        self.window_bytes = window_bytes
        self.stats = ReadStats()
        self.faults: list[str] = []
        self._waiting: OrderedDict[str, ArchivedPage] = OrderedDict()
        self._waiting_bytes = 0
        self.part = part
        self.start = start  # file offset the stream starts at
        # response ids already yielded, and recent revisits; both forgotten after twice
        # the window, so a part's lead rebuilds exactly what a whole read knows
        self._done: OrderedDict[str, int] = OrderedDict()
        self._revisits: OrderedDict[str, tuple[int, dict[str, Any]]] = OrderedDict()
        self._seen = 0  # records read, the lead included

    def __iter__(self) -> Iterator[ArchivedPage]:
        lead, owned = self.part if self.part is not None else (0, -1)
        reader = RecordReader(self.stream, self.name, reopen=self.reopen, start=self.start)
        for record in reader:
            self._seen += 1
            mine = self._seen > lead and (owned < 0 or self._seen <= lead + owned)
            if owned >= 0 and self._seen > lead + owned and not self._waits_mine(lead + owned):
                break  # a part: its last page has waited its window
            self.stats.records += mine
            page = self._page(record, mine)
            offset, length = reader.get_record_offset(), reader.get_record_length()
            if not getattr(record, "newsarchive_whole", True):
                continue  # the reader names the damage and goes on after it
            if page is not None:
                if page.capture["offset"] is None:
                    page.capture["offset"], page.capture["length"] = offset, length
                self._add(page)
            elif record.rec_type == "revisit":
                self._note_revisit(record, offset, length)
            yield from self._flush(self.window_records)
            self._forget()
        yield from self._flush(0)
        self.faults = [str(f) for f in reader.faults]
        if not self.faults and self.stats.records == 0 and self.part is None:
            self.faults = ["no WARC records in it"]
        if self.faults:
            more = f" (and {len(self.faults) - 1} more)" if len(self.faults) > 1 else ""
            done = (f"; the {self.stats.pages} readable pages were read"
                    if self.stats.pages else "")
            raise WarcError(f"{self.name}: {self.faults[0]}{more}{done}")

    def _waits_mine(self, last: int) -> bool:
        """Whether a page of this part (first record at most ``last``) still waits."""
        return bool(self._waiting) and next(iter(self._waiting.values())).seen_at <= last

    def _known(self, refers_to: str) -> None:
        """Remember that the page of ``refers_to`` was (or is being) extracted."""
        self._done[refers_to] = self._seen
        self._done.move_to_end(refers_to)

    def _forget(self) -> None:
        """Drop yielded ids and revisits seen more than twice the window ago."""
        known: OrderedDict[str, Any]
        for known in (self._done, self._revisits):
            while known:
                first: Any = next(iter(known.values()))
                seen = first if isinstance(first, int) else first[0]
                if self._seen - seen < 2 * self.window_records:
                    break
                known.popitem(last=False)

    def _mine(self, seen_at: int) -> bool:
        """Whether the page whose first record is number ``seen_at`` is this part's."""
        if self.part is None:
            return True
        lead, owned = self.part
        return lead < seen_at <= lead + owned

    def _page(self, record: Any, mine: bool) -> ArchivedPage | None:
        """The page a record holds, or None; a DOM record may replace a waiting page."""
        headers = record.rec_headers
        kind = record.rec_type
        uri = headers.get_header("WARC-Target-URI") or ""
        if kind == "response":
            content_type = self._html_200(record)
            if content_type is None:
                return None
            refers_to = headers.get_header("WARC-Record-ID")
            digest = headers.get_header("WARC-Payload-Digest")
        elif kind == "resource" and uri.startswith(DOM_PREFIX):
            content_type = headers.get_header("Content-Type")
            refers_to = headers.get_header("WARC-Concurrent-To") or headers.get_header(
                "WARC-Record-ID")
            digest = headers.get_header("WARC-Payload-Digest") or headers.get_header(
                "WARC-Block-Digest")
            uri = uri[len(DOM_PREFIX):]
        else:
            return None
        body = self._body(record, uri, mine)
        if body is None or not _is_html(content_type, body):
            return None
        capture = self._capture(headers, digest)
        if kind == "resource":
            capture["rendered"] = True
            waiting = self._waiting.get(refers_to)
            if waiting is not None:  # the DOM of a waiting response: extract the DOM
                self._waiting_bytes += len(body) - len(waiting.body)
                waiting.body, waiting.content_type = body, content_type
                waiting.capture["rendered"] = True
                self.stats.rendered += self._mine(waiting.seen_at)
                return None
            if refers_to in self._done:
                if mine:
                    logger.info("%s: DOM of %s came after its response was extracted; "
                                "WINDOW_RECORDS too small", self.name, uri)
                return None
            revisit = self._revisits.pop(refers_to, None)
            if revisit is not None:  # the document was a revisit: point at it, as the crawl does
                capture = {**revisit[1], "rendered": True}
            self.stats.rendered += mine
        return ArchivedPage(uri, body, content_type, capture, refers_to or "", self._seen)

    @staticmethod
    def _html_200(record: Any) -> str | None:
        """The Content-Type of an HTML page with status 200 ("" if unsaid), else None."""
        http = record.http_headers
        if http is None or http.get_statuscode() != "200":
            return None
        content_type = http.get_header("Content-Type") or ""
        if content_type and not _is_html(content_type, b""):
            return None
        return content_type

    def _capture(self, headers: Any, digest: str | None) -> dict[str, Any]:
        """The schema's capture object of a record; offset and length come once read."""
        return {
            "warc_filename": self.name,
            "offset": None,
            "length": None,
            "record_id": headers.get_header("WARC-Record-ID"),
            "payload_digest": digest or "",
            "fetched_at": headers.get_header("WARC-Date") or "",
        }

    def _note_revisit(self, record: Any, offset: int, length: int) -> None:
        """Remember a page's revisit record: a rendered DOM may refer to it."""
        if self._html_200(record) is None:
            return
        headers = record.rec_headers
        capture = self._capture(headers, headers.get_header("WARC-Payload-Digest"))
        capture["offset"], capture["length"] = offset, length
        self._revisits[capture["record_id"]] = (self._seen, capture)

    def _body(self, record: Any, uri: str, mine: bool) -> bytes | None:
        try:
            body: bytes = record.content_stream().read(MAX_BODY + 1)
        except (OSError, EOFError, ValueError, zlib.error) as exc:
            self._skip(f"{uri}: body cannot be decoded ({exc})", mine)
            return None
        except Exception as exc:  # brotli raises its own error class
            self._skip(f"{uri}: body cannot be decoded ({type(exc).__name__}: {exc})", mine)
            return None
        if len(body) > MAX_BODY:
            self._skip(f"{uri}: body larger than {MAX_BODY} bytes", mine)
            return None
        return body

    def _skip(self, why: str, mine: bool) -> None:
        if not mine:  # the lead or tail of a part: another part counts it
            return
        self.stats.skipped += 1
        self.stats.problems.append(why)
        logger.warning("%s: %s", self.name, why)

    def _add(self, page: ArchivedPage) -> None:
        """Let ``page`` wait in the window; pages leave it in the order of their first record."""
        if page.capture.get("rendered"):  # a DOM on its own: keyed by itself, done at once
            self._waiting[f"dom {page.seen_at}"] = page
            self._known(page.refers_to)
        else:
            self._waiting[page.refers_to] = page
        self._waiting_bytes += len(page.body)

    def _flush(self, keep_records: int) -> Iterator[ArchivedPage]:
        """Yield waiting pages older than ``keep_records`` (or over the byte bound)."""
        while self._waiting:
            oldest = next(iter(self._waiting.values()))
            if (keep_records and self._seen - oldest.seen_at < keep_records
                    and self._waiting_bytes <= self.window_bytes):
                return
            self._waiting.popitem(last=False)
            self._waiting_bytes -= len(oldest.body)
            self._known(oldest.refers_to)
            if self._mine(oldest.seen_at):
                self.stats.pages += 1
                yield oldest


class _Reseek:
    """The reader's own stream moved to an offset, left open when the reader is done."""

    def __init__(self, stream: BinaryIO, offset: int) -> None:
        stream.seek(offset)
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size)

    def readline(self, size: int = -1) -> bytes:
        return self.stream.readline(size)

    def close(self) -> None:
        """Not closed here: the caller owns the stream."""

    def __enter__(self) -> _Reseek:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reseeker(stream: BinaryIO) -> Opener | None:
    """Reopening by seeking, for a seekable stream (a local file); else None."""
    try:
        seekable = stream.seekable()
    except (AttributeError, ValueError):
        seekable = False
    if not seekable:
        return None
    return lambda offset: _Reseek(stream, offset)  # type: ignore[return-value]
