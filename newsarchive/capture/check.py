"""Validating WARC and ARC files the way the WARC standard reads them.

``warcio check`` verifies digests but passes a file whose last gzip member was
cut off by a kill, a record whose HTTP ``Content-Length`` disagrees with its
body, and a 10 MB header line. This check reads every record with
:class:`~newsarchive.capture.reading.RecordReader` (which names cut-off and
broken gzip members and goes on at the next whole one) and verifies:

- record structure: the mandatory fields (WARC 1.1 section 5), a target URI
  on the records that need one; WARC/1.0 and /1.1, and ARC files read as
  warcio and pywb read them (the ARC header converted to WARC fields);
- digests: a wrong block or payload digest is a fault; a missing one is a
  *note*, since WARC 1.1 makes both optional (``strict`` makes it a fault).
  A payload digest computed over the de-chunked body of a chunked response
  is accepted (the standard's entity-body), as is the ClueWeb09 habit of a
  payload digest equal to the block digest, with a note;
- the HTTP message (:mod:`newsarchive.capture.httpcheck`): status or request
  line, header syntax and size, and the body against ``Content-Length`` or
  its chunked framing;
- newsarchive's own records: a sidecar still under the page's own URL
  (written before sidecars got their ``urn:newsarchive:`` target URIs) is noted.
"""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from newsarchive.capture import httpcheck
from newsarchive.capture.reading import Opener, RecordReader, file_opener, printable

REQUIRED = ("WARC-Record-ID", "WARC-Date", "WARC-Type", "Content-Length")
NEEDS_TARGET = {"response", "request", "revisit", "resource", "conversion"}
DIGESTED = ("response", "request", "resource", "metadata", "conversion")
VERSIONS = ("WARC/1.0", "WARC/1.1")
MAX_ERRORS = 20
MAX_NOTES = 20


@dataclass
class FileReport:
    """The verdict on one WARC or ARC file: faults fail it, notes do not."""

    name: str
    size: int = 0
    records: int = 0
    types: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    note_counts: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        """True when the file has records and no fault."""
        return not self.errors and self.records > 0

    def add_error(self, message: str) -> None:
        """Record a fault (only the first few are kept), printable and short."""
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(printable(message))

    def add_note(self, message: str, kind: str | None = None) -> None:
        """Record a note; notes of one ``kind`` are counted, the first one kept."""
        kind = kind or message
        self.note_counts[kind] += 1
        if self.note_counts[kind] == 1 and len(self.notes) < MAX_NOTES:
            self.notes.append(printable(message))

    def summary_notes(self) -> list[str]:
        """The notes, each with how many records it applies to."""
        out = []
        for note, (_kind, count) in zip(self.notes, self.note_counts.items(), strict=False):
            out.append(note if count == 1 else f"{note} (and {count - 1} more like it)")
        return out

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form for ``--json``."""
        return {
            "file": self.name,
            "ok": self.ok,
            "size": self.size,
            "records": self.records,
            "types": dict(self.types),
            "errors": self.errors,
            "notes": self.summary_notes(),
        }


def _b32(digest: Any) -> str:
    return base64.b32encode(digest.digest()).decode("ascii")


class _RecordCheck:
    """The checks of one record (see the module docstring)."""

    def __init__(self, report: FileReport, reader: RecordReader, strict: bool) -> None:
        self.report = report
        self.reader = reader
        self.strict = strict
        self.loader: Any = None

    def hook(self, loader: Any) -> None:
        httpcheck.install(loader)
        self.loader = loader
        ensure = loader._ensure_target_uri_format

        def ensure_noting(rec_headers: Any) -> Any:
            uri = rec_headers.get_header("WARC-Target-URI") or ""
            if uri.startswith("<") and uri.endswith(">"):
                self.report.add_note("WARC-Target-URI in angle brackets (the WARC/1.0 grammar's "
                                     "form, as wget writes it): read without them, as warcio "
                                     "and pywb do", "bracketed-uri")
            return ensure(rec_headers)

        loader._ensure_target_uri_format = ensure_noting

    def missing(self, where: str, what: str) -> None:
        if self.strict:
            self.report.add_error(f"{where}: {what}")
        else:
            self.report.add_note(f"{where}: {what} (optional in WARC 1.1)", what)

    def run(self, record: Any) -> None:
        headers = record.rec_headers
        kind = record.rec_type or "?"
        self.report.types[kind] += 1
        protocol = headers.protocol or ""
        arc = self.reader.format == "arc"
        lines = self._http_lines(record)
        body = self._read_body(record)
        offset = self.reader.get_record_offset()
        where = f"offset {offset}"
        if not self.reader.whole():
            return  # the reader reports it; what was read of it says nothing more
        if protocol not in VERSIONS and not arc:
            if protocol.startswith("WARC/0."):
                self.report.add_note(f"{where}: {protocol} record (an early draft of the "
                                     "standard); read as WARC/1.0", "old-version")
            else:
                self.report.add_error(f"{where}: not a WARC/1.0 or WARC/1.1 record ({protocol})")
                return
        for name in REQUIRED:
            if not headers.get_header(name):
                self.report.add_error(f"{where}: {kind} lacks {name}")
        uri = headers.get_header("WARC-Target-URI") or ""
        if kind in NEEDS_TARGET and not uri:
            self.report.add_error(f"{where}: {kind} lacks WARC-Target-URI")
        if not arc:
            self._digests(record, kind, where, body)
        if lines is not None and uri.startswith(("http:", "https:")) and record.http_headers:
            self._http(record, kind, where, lines, body)
        content_type = headers.get_header("Content-Type") or ""
        if kind == "metadata" and "newsarchive.sidecar" in content_type and not uri.startswith(
                "urn:"):
            self.report.add_note(f"{where}: sidecar record under the page's own URL (old form: "
                                 "other tools replay it as the page)", "old-form")

    def _http_lines(self, record: Any) -> list[tuple[int, bytes]] | None:
        if self.loader is None or record.http_headers is None:
            return None
        parser = self.loader.http_req_parser if record.rec_type == "request" else (
            self.loader.http_parser)
        return list(getattr(parser, "lines", []))

    def _read_body(self, record: Any) -> dict[str, Any]:
        """Stream the payload once: its length, and its chunk framing when chunked."""
        chunked = record.http_headers is not None and httpcheck.is_chunked(record.http_headers)
        dechunker = httpcheck.Dechunker() if chunked else None
        size = 0
        tail = b""
        while True:
            data = record.raw_stream.read(1 << 20)
            if not data:
                break
            size += len(data)
            tail = (tail + data)[-2:]
            if dechunker is not None:
                dechunker.feed(data)
        if dechunker is not None:
            dechunker.finish()
        return {"size": size, "dechunker": dechunker, "tail": tail}

    def _digests(self, record: Any, kind: str, where: str, body: dict[str, Any]) -> None:
        headers = record.rec_headers
        block = headers.get_header("WARC-Block-Digest")
        payload = headers.get_header("WARC-Payload-Digest")
        if kind in DIGESTED and not block:
            self.missing(where, f"{kind} has no WARC-Block-Digest")
        if kind == "response" and record.http_headers is not None and not payload:
            self.missing(where, "response has no WARC-Payload-Digest")
        checker = record.digest_checker
        if checker.passed is not False:
            return
        for problem in checker.problems:
            if problem.startswith("payload digest failed") and self._payload_ok(
                    payload, block, checker, body):
                continue
            self.report.add_error(f"{where}: {problem}")

    def _payload_ok(self, payload: str | None, block: str | None, checker: Any,
                    body: dict[str, Any]) -> bool:
        """A payload digest failing warcio's raw-bytes rule but valid by the standard's."""
        value = (payload or "").split(":", 1)[-1].upper()
        dechunker = body["dechunker"]
        if dechunker is not None and dechunker.error is None and (payload or "").lower(
                ).startswith("sha1:") and value == _b32(dechunker.sha1):
            return True  # digest of the de-chunked entity body
        block_failed = any(p.startswith("block digest failed") for p in checker.problems)
        if payload and payload == block and not block_failed:
            self.report.add_note("payload digest equals the block digest (computed over the "
                                 "whole HTTP message, as ClueWeb09 did)", "payload=block")
            return True
        return False

    def _http(self, record: Any, kind: str, where: str, lines: list[tuple[int, bytes]],
              body: dict[str, Any]) -> None:
        request = kind == "request"
        for problem in httpcheck.header_problems(lines, request):
            self.report.add_error(f"{where}: {problem}")
        if kind not in ("response", "request"):
            return
        http = record.http_headers
        truncated = record.rec_headers.get_header("WARC-Truncated")
        dechunker = body["dechunker"]
        if dechunker is not None:
            if dechunker.error is not None and not truncated:
                self.report.add_error(f"{where}: says Transfer-Encoding: chunked but "
                                      f"{dechunker.error}")
            return
        declared = httpcheck.content_length(http)
        if declared is None or not httpcheck.body_expected(http, request):
            return
        extra = body["size"] - declared
        if 0 < extra <= 2 and not body["tail"][-extra:].strip():
            self.report.add_note(f"{where}: the record's length counts the line end after its "
                                 "HTTP body (as ClueWeb09 and some ARC writers did)", "extra-crlf")
        elif declared != body["size"]:
            if truncated:
                self.report.add_note(f"{where}: body cut short ({truncated}), as "
                                     "WARC-Truncated says", "truncated")
            else:
                self.report.add_error(f"{where}: HTTP Content-Length is {declared} but the "
                                      f"body has {body['size']} bytes")


def _offset_of(message: str) -> int:
    """The offset a message starts with (``offset N: ...``), for sorting; -1 if none."""
    head = message.split(":", 1)[0]
    return int(head[7:]) if head.startswith("offset ") and head[7:].isdigit() else -1


def check_stream(name: str, open_at: Opener, *, strict: bool = False) -> FileReport:
    """Check one file given a way to open it at a byte offset."""
    report = FileReport(name)
    with open_at(0) as fh:
        reader = RecordReader(fh, name, reopen=open_at, verify_blocks=False)
        checker = _RecordCheck(report, reader, strict)
        reader.loader_hook = checker.hook
        for record in reader:
            report.records += 1
            checker.run(record)
    report.size = reader.size
    for fault in reader.faults:
        report.add_error(str(fault))
    for note in reader.notes:
        report.add_note(note)
    report.errors.sort(key=_offset_of)
    if report.records == 0 and not report.errors:
        report.add_error("no WARC or ARC records in it")
    return report


def check_path(path: str, *, strict: bool = False, opener: Opener | None = None) -> FileReport:
    """Check a local file, or whatever ``opener`` opens (an ``s3://`` object:
    :func:`newsarchive.store.opener.opener_for`)."""
    return check_stream(path, opener or file_opener(path), strict=strict)
