"""Building WARC/1.1 records with warcio, uncompressed.

warcio builds and serialises the records (headers, digests). We ask it for the
*uncompressed* bytes of each record and compress them ourselves in the writer
(see :mod:`newsarchive.capture.writer`): warcio always gzips at zlib level 9,
much slower than level 6 for a few percent fewer bytes, and compression is the
single largest cost of archiving a crawl (the numbers: ``benchmarks/README.md``).

Secrets are not archived: request records are written with the values of
``Authorization``, ``Cookie``, ``Proxy-Authorization`` (and the other headers
of :class:`Redaction`) replaced by :data:`REDACTED`, and a
``WARC-Newsarchive-Redacted`` header naming them; response ``Set-Cookie``
values too when asked (``WARC_REDACT_SET_COOKIE``).
"""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import BinaryIO
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsarchive.digests import sha1_digest
from newsarchive.fetch.credentials import DEFAULT_REDACTED, Redaction
from newsarchive.fetch.exchange import Exchange

__all__ = ["DEFAULT_REDACTED", "Redaction", "sha1_digest"]

WARC_VERSION = "1.1"
#: what a redacted header's value is replaced with
REDACTED = "[redacted]"
#: the WARC header naming the HTTP headers whose values were replaced
REDACTED_HEADER = "WARC-Newsarchive-Redacted"
def redact(headers: list[tuple[str, str]], names: frozenset[str]
           ) -> tuple[list[tuple[str, str]], list[str]]:
    """``headers`` with the values of ``names`` replaced, and the names replaced."""
    if not names:
        return headers, []
    out: list[tuple[str, str]] = []
    done: list[str] = []
    for key, value in headers:
        if key.lower() in names:
            value = REDACTED
            if key not in done:
                done.append(key)
        out.append((key, value))
    return out, done


def new_record_id() -> str:
    """A fresh ``<urn:uuid:...>`` record id."""
    return f"<urn:uuid:{uuid.uuid4()}>"


def warc_date(when: datetime) -> str:
    """WARC/1.1 date: UTC, microseconds, ``Z``."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_id_of(raw: bytes) -> str | None:
    """The ``WARC-Record-ID`` of a serialised record (from its header block)."""
    head = raw[: raw.find(b"\r\n\r\n")]
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"warc-record-id:"):
            return line.split(b":", 1)[1].strip().decode("ascii", "replace")
    return None


def with_warcinfo_id(raw: bytes, warcinfo_id: str) -> bytes:
    """A serialised record with ``WARC-Warcinfo-ID`` added to its header block.

    The header block is outside both digests, so they stay valid; a record
    that names a warcinfo already is returned as it is.
    """
    end = raw.find(b"\r\n\r\n")
    if end < 0 or b"\r\nWARC-Warcinfo-ID:" in raw[:end]:
        return raw
    first = raw.find(b"\r\n") + 2
    return raw[:first] + f"WARC-Warcinfo-ID: {warcinfo_id}\r\n".encode("ascii") + raw[first:]


class _Writers(threading.local):
    """One warcio writer per thread, both to build records and to serialise them.

    A ``WARCWriter`` asks the system for the host name and makes a header
    parser when it is made; a new one for every record (two a record, four
    for a page's request and response) was a measurable part of the writer
    thread's work (``benchmarks/README.md``). Its ``out`` is all that differs
    between records, so it is set for each.
    """

    def __init__(self) -> None:
        self.writer = WARCWriter(io.BytesIO(), gzip=False, warc_version=WARC_VERSION)


_WRITERS = _Writers()


def _write(record, out: BinaryIO) -> None:  # type: ignore[no-untyped-def]
    """Write ``record`` uncompressed to ``out`` with this thread's writer."""
    writer = _WRITERS.writer
    writer.out = out
    try:
        writer.write_record(record)
    finally:
        writer.out = None  # holds no caller's stream


def _serialise(record) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    _write(record, buf)
    return buf.getvalue()


def _builder() -> WARCWriter:
    """This thread's writer, to build a record (its ``out`` is not used for that)."""
    return _WRITERS.writer


def warcinfo_record(filename: str, info: Mapping[str, str], when: datetime) -> bytes:
    """The ``warcinfo`` record that opens every file."""
    builder = _builder()
    payload = "".join(f"{k}: {v}\r\n" for k, v in info.items() if v not in (None, "")).encode(
        "utf-8"
    )
    headers = {
        "WARC-Type": "warcinfo",
        "WARC-Record-ID": new_record_id(),
        "WARC-Filename": filename,
        "WARC-Date": warc_date(when),
        "Content-Type": "application/warc-fields",
    }
    record = builder.create_warc_record(
        "",
        "warcinfo",
        payload=io.BytesIO(payload),
        length=len(payload),
        warc_headers_dict=headers,
        warc_content_type="application/warc-fields",
    )
    return _serialise(record)


def request_record(ex: Exchange, concurrent_to: str,
                   redaction: Redaction | None = None) -> bytes:
    """The ``request`` record: request line, headers as sent (secrets redacted), body."""
    parts = urlsplit(ex.url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in ex.request_headers]
    if not any(k.lower() == "host" for k, _ in headers):
        headers.insert(0, ("Host", parts.netloc))
    headers, redacted = redact(headers, (redaction or Redaction()).request)
    http_headers = StatusAndHeaders(f"{ex.method} {target} HTTP/1.1", headers, is_http_request=True)
    warc_headers = {"WARC-Concurrent-To": concurrent_to}
    if redacted:
        warc_headers[REDACTED_HEADER] = ", ".join(redacted)
    return _http_record(ex, "request", new_record_id(), ex.request_body, http_headers, warc_headers)


def _http_record(
    ex: Exchange,
    record_type: str,
    record_id: str,
    payload: bytes | BinaryIO,
    http_headers: StatusAndHeaders,
    extra: dict[str, str],
    out: BinaryIO | None = None,
) -> bytes:
    """A request or response record of ``ex``: the common WARC headers, then ``extra``.

    ``payload`` is bytes, or a seekable file of ``ex.body_size`` bytes (a
    spooled body). With ``out``, the record is streamed there (read from the
    file twice: digest, then copy) and ``b""`` is returned.
    """
    warc_headers = {
        "WARC-Type": record_type,
        "WARC-Record-ID": record_id,
        "WARC-Date": warc_date(ex.fetched_at),
        "WARC-Target-URI": ex.url,
        **extra,
    }
    if ex.ip_address:
        warc_headers["WARC-IP-Address"] = ex.ip_address
    builder = _builder()
    if isinstance(payload, bytes):
        stream: BinaryIO = io.BytesIO(payload)
        length = len(payload)
    else:
        stream, length = payload, ex.body_size
    record = builder.create_warc_record(
        ex.url,
        record_type,
        payload=stream,
        length=length,
        http_headers=http_headers,
        warc_headers_dict=warc_headers,
    )
    builder.ensure_digest(record, block=True, payload=False)
    if out is None:
        return _serialise(record)
    _write(record, out)
    return b""


def _response_http_headers(ex: Exchange, redaction: Redaction | None = None
                           ) -> tuple[StatusAndHeaders, list[str], list[str]]:
    """The stored status line and headers, the transfer codings removed, the names redacted."""
    headers, removed = ex.stored_response_headers()
    headers, redacted = redact(headers, (redaction or Redaction()).response)
    status_line = ex.status_line()
    protocol, _, status = status_line.partition(" ")
    return StatusAndHeaders(status, headers, protocol=protocol), removed, redacted


def response_record(
    ex: Exchange, record_id: str, payload_digest: str, redaction: Redaction | None = None,
    out: BinaryIO | None = None, warcinfo_id: str | None = None,
) -> bytes:
    """The ``response`` record: status line, headers and body as the server sent them.

    A body that was cut (``ex.warc_headers`` holds ``WARC-Truncated``) keeps
    its headers as sent: the record says it is shorter than they announce.
    A spooled body is streamed into ``out`` (see :func:`_http_record`).
    """
    http_headers, removed, redacted = _response_http_headers(ex, redaction)
    extra = {"WARC-Payload-Digest": payload_digest, **ex.warc_headers}
    if removed:
        # Provenance: the body is stored de-chunked (see exchange.TRANSFER_HEADERS).
        extra["WARC-Newsarchive-Transfer-Decoded"] = ", ".join(removed)
    if redacted:
        extra[REDACTED_HEADER] = ", ".join(redacted)
    if warcinfo_id:
        extra["WARC-Warcinfo-ID"] = warcinfo_id
    payload = ex.spool.reader() if ex.spool is not None else ex.body
    return _http_record(ex, "response", record_id, payload, http_headers, extra, out)


def revisit_record(
    ex: Exchange,
    record_id: str,
    payload_digest: str,
    refers_to_uri: str,
    refers_to_date: str,
    refers_to_id: str | None,
    redaction: Redaction | None = None,
    not_modified: bool = False,
) -> bytes:
    """A ``revisit``: the response headers, no body.

    Identical-payload-digest by default; ``not_modified`` makes it Heritrix's
    server-not-modified revisit of a ``304`` to a conditional request (its
    headers are the 304's; the payload digest is the earlier capture's, so
    index readers resolve it the same way).
    """
    builder = _builder()
    http_headers, _, redacted = _response_http_headers(ex, redaction)
    record = builder.create_revisit_record(
        ex.url, payload_digest, refers_to_uri, refers_to_date, http_headers=http_headers
    )
    if not_modified:
        profile = record.rec_headers.get_header("WARC-Profile")
        record.rec_headers.replace_header(
            "WARC-Profile", profile.replace("identical-payload-digest", "server-not-modified"))
    record.rec_headers.replace_header("WARC-Record-ID", record_id)
    record.rec_headers.replace_header("WARC-Date", warc_date(ex.fetched_at))
    if refers_to_id:
        record.rec_headers.add_header("WARC-Refers-To", refers_to_id)
    if ex.ip_address:
        record.rec_headers.add_header("WARC-IP-Address", ex.ip_address)
    if redacted:
        record.rec_headers.add_header(REDACTED_HEADER, ", ".join(redacted))
    builder.ensure_digest(record, block=True, payload=False)
    return _serialise(record)


#: target URIs of the records newsarchive writes about captures: ``urn:newsarchive:KIND:URL``
OWN_URI_PREFIX = "urn:newsarchive:"


def own_uri(kind: str, url: str) -> str:
    """The target URI of our ``kind`` of record about ``url``: ``urn:newsarchive:sidecar:URL``.

    Standard indexes (cdxj-indexer, pywb, py-wacz) index every record under
    its target URI; a sidecar under the page's own URL would be taken for a
    capture of the page (and, being later, replayed instead of it). A scheme
    of our own keeps them apart, as Browsertrix's ``urn:text:URL`` records do.
    """
    return f"{OWN_URI_PREFIX}{kind}:{url}"


def described_url(uri: str) -> str:
    """The page URL an own-scheme URI is about (the URI itself for a page URL).

    Accepts the old form too (sidecar records under the page's own URL).
    """
    if uri.startswith(OWN_URI_PREFIX):
        return uri[len(OWN_URI_PREFIX):].split(":", 1)[-1]
    return uri


def metadata_record(
    uri: str,
    refers_to: str,
    payload: bytes,
    content_type: str,
    when: datetime,
    extra: Mapping[str, str] | None = None,
    record_type: str = "metadata",
    *,
    refers_to_uri: str | None = None,
    refers_to_date: str | None = None,
) -> bytes:
    """A ``metadata``/``resource``/``conversion`` record about (or beside) another record.

    ``refers_to`` (record id), ``refers_to_uri`` and ``refers_to_date`` name
    the capture it describes (``WARC-Refers-To``, ``WARC-Refers-To-Target-URI``,
    ``WARC-Refers-To-Date``); a ``resource`` made with the capture (a DOM
    snapshot) also says ``WARC-Concurrent-To``. ``uri`` should be an
    :func:`own_uri`, never the page's own URL.
    """
    builder = _builder()
    headers = {
        "WARC-Type": record_type,
        "WARC-Record-ID": new_record_id(),
        "WARC-Date": warc_date(when),
        "WARC-Target-URI": uri,
        "Content-Type": content_type,
    }
    if record_type == "resource":
        headers["WARC-Concurrent-To"] = refers_to
    headers["WARC-Refers-To"] = refers_to
    if refers_to_uri:
        headers["WARC-Refers-To-Target-URI"] = refers_to_uri
    if refers_to_date:
        headers["WARC-Refers-To-Date"] = refers_to_date
    headers.update(extra or {})
    record = builder.create_warc_record(
        uri,
        record_type,
        payload=io.BytesIO(payload),
        length=len(payload),
        warc_headers_dict=headers,
        warc_content_type=content_type,
    )
    builder.ensure_digest(record, block=True, payload=record_type == "resource")
    return _serialise(record)
