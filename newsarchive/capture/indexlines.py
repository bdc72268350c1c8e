"""The CDXJ lines of a WARC file, made by the writer as it appends each record.

The index used to be built by reading every closed WARC again (inflate, parse,
spool each record: about a quarter of a default crawl's CPU samples, issue
#19). The writer already holds each record's uncompressed header block and
knows where its gzip member lies, which is all a CDXJ line needs (URL, date,
MIME type, status, payload digest, offset, length). So :class:`IndexLines`
parses that header block with warcio's own record loader, the way
``ArchiveIterator`` parses it when the file is read, and makes the line as
cdxj-indexer 1.4's ``CDXJIndexer`` does (its ``get_field`` and ``_write_line``
with ``newsarchive index``'s options: :func:`cdxj_line`): the lines are the ones
cdxj-indexer writes for the file, byte for byte (``tests/test_index_lines.py``
compares them). They go, unsorted, to an unlinked temporary file; the index
stage sorts them as cdxj-indexer does when the WARC closes
(:func:`newsarchive.index.cdxj.index_from_lines`).

The line is made here rather than by a ``CDXJIndexer``: importing cdxj-indexer
imports pyamf, which imports ``pkg_resources``, ~0.3 CPU-s of every crawl's
start (``-X importtime``, issue #19), for a dozen lines of field code.

A file with a record this cannot index as cdxj-indexer would (a ``POST`` or
``PUT`` request, whose key cdxj-indexer builds from the request body; a
record without ``WARC-Payload-Digest``; a header block it did not see whole)
gets no lines at all (:attr:`IndexLines.complete` turns false), and the index
stage reads the closed file again, as it does for any WARC not written here.
"""

from __future__ import annotations

import io
import json
import logging
import re
import tempfile
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

#: record types that get an index line (cdxj-indexer's ``records`` option)
INDEXED_RECORDS = "response,revisit,resource"
_INDEXED = frozenset(INDEXED_RECORDS.split(","))
#: requests whose capture cdxj-indexer keys by their body (its post-append mode)
_BODY_KEYED = (b"POST", b"PUT")
#: uncompressed bytes of a streamed record kept for its index line: its WARC and
#: HTTP header blocks must lie within them
HEAD_LIMIT = 1 << 16
_TYPE = b"\r\nWARC-Type: "
_END = b"\r\n\r\n"
_MIME_END = re.compile(r"[;\s]")  # cdxj-indexer's RE_SPACE


def cdxj_line(record: Any, offset: int, length: int, filename: str) -> str:
    """The CDXJ line cdxj-indexer writes for ``record`` (a warcio record of type
    response, revisit or resource, not a POST or PUT capture) at ``offset``.

    Its fields, in its order, a field left out when None: ``url``, ``mime``
    (``warc/revisit``; else the HTTP, or for a resource the record's,
    ``Content-Type`` up to its first ``;`` or space), ``status`` (responses and
    revisits with HTTP headers), ``digest``, ``length``, ``offset``, ``filename``.
    """
    from surt import surt
    from warcio.timeutils import iso_date_to_timestamp

    rec = record.rec_headers
    http = record.http_headers
    kind = record.rec_type
    mime: str | None
    if kind == "revisit":
        mime = "warc/revisit"
    else:
        if kind in ("response", "request"):
            mime = http.get_header("content-type") if http else None
        else:
            mime = rec.get_header("content-type")
        if mime:
            mime = _MIME_END.split(mime, 1)[0].strip()
    status = http.get_statuscode() if kind in ("response", "revisit") and http else None
    fields = {"url": rec.get_header("WARC-Target-URI"), "mime": mime, "status": status,
              "digest": rec.get_header("WARC-Payload-Digest"), "length": str(length),
              "offset": str(offset), "filename": filename}
    index = {key: value for key, value in fields.items() if value is not None}
    url = index.get("url") or rec.get_header("WARC-Target-URI")
    try:
        urlkey = surt(url)
    except Exception:  # as cdxj-indexer does
        urlkey = url
    timestamp = iso_date_to_timestamp(rec.get_header("WARC-Date"))
    return urlkey + " " + timestamp + " " + json.dumps(index) + "\n"


def record_type(head: bytes) -> bytes | None:
    """The ``WARC-Type`` of a serialised record, from its header block (warcio writes it so)."""
    end = head.find(_END)
    at = head.find(_TYPE, 0, end)
    if at < 0:
        return None
    at += len(_TYPE)
    return head[at:head.find(b"\r\n", at)]


class IndexLines:
    """The unsorted CDXJ lines of one WARC file being written (one writer thread)."""

    def __init__(self, filename: str, tmp_dir: Path) -> None:
        from warcio.recordloader import ArcWarcRecordLoader

        self.filename = filename
        # Unlinked at once: a killed crawl leaves nothing behind (its WARC is read again).
        self.file: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", dir=tmp_dir)
        # What RecordReader's ArchiveIterator parses records with.
        self.loader = ArcWarcRecordLoader(verify_http=False, arc2warc=True)
        self.complete = True
        self.lines = 0

    def add(self, head: bytes, offset: int, length: int) -> None:
        """Index the record whose uncompressed bytes begin with ``head``, in the
        gzip member at ``offset`` of ``length`` bytes."""
        if not self.complete:
            return
        kind = record_type(head)
        try:
            if kind == b"request":
                start = head.find(_END) + len(_END)
                if head[start:start + 5].split(b" ", 1)[0].upper() in _BODY_KEYED:
                    self.give_up("a POST or PUT request")
                return
            if kind is None or kind.decode("ascii") not in _INDEXED:
                return
            self._add(head, kind, offset, length)
        except Exception as exc:  # never stop the writer: the file is read again instead
            self.give_up(f"{type(exc).__name__}: {exc}")

    def _add(self, head: bytes, kind: bytes, offset: int, length: int) -> None:
        end = head.find(_END)
        if kind != b"resource" and head.find(_END, end + len(_END)) < 0:
            self.give_up("an HTTP header block not seen whole")
            return
        record = self.loader.parse_record_stream(io.BytesIO(head))
        if not record.rec_headers.get_header("WARC-Payload-Digest"):
            self.give_up("a record without WARC-Payload-Digest")
            return
        if record.rec_type in _INDEXED:
            self.file.write(cdxj_line(record, offset, length, self.filename))
            self.lines += 1

    def give_up(self, why: str) -> None:
        """No lines for this file: the index stage reads it again when it closes."""
        if self.complete:
            logger.info("%s: %s; its index will be built by reading it", self.filename, why)
        self.complete = False
        self.file.close()

    def close(self) -> None:
        """Drop the lines (a file that is not indexed from them)."""
        self.file.close()
