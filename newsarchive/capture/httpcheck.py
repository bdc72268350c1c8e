"""Is the HTTP message in a record consistent? Status line, headers, body length.

``warc check`` runs this over every ``response`` and ``request`` record, as
jwarc does: warcio parses HTTP headers leniently (it drops a header line
without a colon and reads a header line of any length), so the raw lines are
recorded while warcio parses them (:class:`RecordingParser`), and the body is
measured (and de-chunked, when it says it is chunked) while it streams by.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from warcio.statusandheaders import StatusAndHeadersParser

#: longest header line accepted (Apache's and nginx's default limits are 8 KiB;
#: real archives hold longer cookies, so this only catches absurd ones)
MAX_HEADER_LINE = 64 << 10
#: most bytes a header block may have
MAX_HEADER_BYTES = 256 << 10
_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_STATUS = re.compile(r"^[0-9]{3}( .*)?$")
_HTTP_VERSION = re.compile(r"^HTTP/[0-9](\.[0-9])?$")
_CHUNK_SIZE = re.compile(rb"^([0-9A-Fa-f]+)[ \t]*(;.*)?$")


class _Tap:
    """A stream wrapper that keeps the length and start of every line read."""

    def __init__(self, stream: Any, lines: list[tuple[int, bytes]]) -> None:
        self.stream = stream
        self.lines = lines

    def readline(self, *size: int) -> bytes:
        line: bytes = self.stream.readline(*size)  # warcio's readers treat -1 and None apart
        if self.lines and not self.lines[-1][1].endswith(b"\n") and self.lines[-1][0] < 200:
            # the rest of a line a buffer boundary split
            length, start = self.lines.pop()
            self.lines.append((length + len(line), (start + line)[:200]))
        else:
            self.lines.append((len(line), line[:200]))
        return line

    def read(self, *size: int) -> bytes:
        return self.stream.read(*size)  # type: ignore[no-any-return]


class RecordingParser(StatusAndHeadersParser):  # type: ignore[misc]
    """warcio's HTTP header parser, keeping the raw lines of the last block parsed."""

    def __init__(self, statuslist: Any, verify: bool = False) -> None:
        super().__init__(statuslist, verify)
        self.lines: list[tuple[int, bytes]] = []

    def parse(self, stream: Any, full_statusline: Any = None) -> Any:
        """Parse as warcio does, recording each line's length and first bytes."""
        self.lines = []
        if full_statusline is not None:
            self.lines.append((len(full_statusline), bytes(full_statusline)[:200]))
        return super().parse(_Tap(stream, self.lines), full_statusline)


def install(loader: Any) -> None:
    """Put recording parsers into a warcio record loader."""
    loader.http_parser = RecordingParser(loader.http_parser.statuslist, loader.http_parser.verify)
    loader.http_req_parser = RecordingParser(loader.http_req_parser.statuslist,
                                             loader.http_req_parser.verify)


def header_problems(lines: list[tuple[int, bytes]], request: bool) -> list[str]:
    """Syntax and size faults of a header block's raw lines (status line first)."""
    problems: list[str] = []
    if not lines:
        return ["no HTTP status line"]
    total = sum(n for n, _ in lines)
    if total > MAX_HEADER_BYTES:
        problems.append(f"HTTP headers are {total} bytes (more than {MAX_HEADER_BYTES})")
    first = lines[0][1].rstrip(b"\r\n").decode("latin-1")
    if request:
        parts = first.split(" ")
        if len(parts) != 3 or not _TOKEN.match(parts[0].encode("latin-1")) or not (
                _HTTP_VERSION.match(parts[2])):
            problems.append(f"bad HTTP request line {first[:60]!r}")
    else:
        version, _, rest = first.partition(" ")
        if not _HTTP_VERSION.match(version) or not _STATUS.match(rest.strip()):
            problems.append(f"bad HTTP status line {first[:60]!r}")
    for n, (length, start) in enumerate(lines[1:], 2):
        text = start.rstrip(b"\r\n")
        if not text:
            break  # the blank line ending the block
        if length > MAX_HEADER_LINE:
            problems.append(f"HTTP header line {n} is {length} bytes (more than {MAX_HEADER_LINE})")
        elif text[:1] in (b" ", b"\t"):
            continue  # an obsolete folded continuation line: allowed when reading
        else:
            name, colon, _ = text.partition(b":")
            if not colon or not _TOKEN.match(name.rstrip(b" \t")):
                problems.append(f"bad HTTP header line {n}: {text[:40]!r}")
    return problems[:3]


@dataclass
class Dechunker:
    """A streaming validator of chunked transfer coding; digests the de-chunked body."""

    error: str | None = None
    done: bool = False
    body: int = 0  # de-chunked bytes
    seen: int = 0  # raw bytes fed
    sha1: Any = field(default_factory=hashlib.sha1)
    _line: bytearray = field(default_factory=bytearray)
    _left: int = -1  # bytes of chunk data still due; -1: expecting a size line
    _crlf: int = 0  # bytes of the CRLF after chunk data still due
    _trailers: bool = False

    def feed(self, data: bytes) -> None:
        """Take the next raw bytes of the body."""
        view = memoryview(data)
        while view and self.error is None:
            if self.done:
                if bytes(view).strip():
                    self.error = f"data after the last chunk at byte {self.seen}"
                self.seen += len(view)
                return
            if self._left > 0:
                take = min(self._left, len(view))
                self.sha1.update(view[:take])
                self.body += take
                self._left -= take
                self.seen += take
                view = view[take:]
                if self._left == 0:
                    self._crlf = 2
                continue
            if self._crlf:
                byte = bytes(view[:1])
                if (self._crlf == 2 and byte not in (b"\r", b"\n")) or (
                        self._crlf == 1 and byte != b"\n"):
                    self.error = f"chunk data longer than its size line says, at byte {self.seen}"
                    return
                self._crlf = 0 if byte == b"\n" else 1
                self.seen += 1
                view = view[1:]
                if self._crlf == 0:
                    self._left = -1
                continue
            nl = bytes(view).find(b"\n")
            piece = view if nl < 0 else view[: nl + 1]
            self._line += piece
            self.seen += len(piece)
            view = view[len(piece):]
            if len(self._line) > 4096:
                self.error = f"no chunk size line at byte {self.seen - len(self._line)}"
                return
            if nl >= 0:
                self._end_line(bytes(self._line).rstrip(b"\r\n"))
                self._line.clear()

    def _end_line(self, line: bytes) -> None:
        if self._trailers:
            if not line:
                self.done = True
            return
        match = _CHUNK_SIZE.match(line.strip())
        if match is None:
            self.error = f"bad chunk size line {line[:30]!r} at byte {self.seen - len(line) - 2}"
            return
        size = int(match.group(1), 16)
        if size == 0:
            self._trailers = True
        else:
            self._left = size

    def finish(self) -> None:
        """The body ended: an unfinished chunked body is an error."""
        if self.error is None and not (self.done or self._trailers):
            self.error = "chunked body ends before its last chunk"


def content_length(headers: Any) -> int | None:
    """The one valid Content-Length of parsed HTTP headers, else None."""
    values = {v.strip() for k, v in headers.headers if k.lower() == "content-length"}
    if len(values) != 1:
        return None
    value = values.pop()
    return int(value) if value.isdigit() else None


def is_chunked(headers: Any) -> bool:
    """Whether the headers say the body is chunked."""
    coding = headers.get_header("Transfer-Encoding") or ""
    return coding.replace(" ", "").lower().split(",")[-1:] == ["chunked"]


def body_expected(headers: Any, request: bool) -> bool:
    """False for messages whose Content-Length does not describe a body (1xx, 204, 304)."""
    if request:
        return True
    code = (headers.get_statuscode() or "")[:3]
    return not (code.startswith("1") or code in ("204", "304"))
