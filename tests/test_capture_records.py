"""Records hold the response as sent: encodings kept, transfer framing explained."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime

from newsarchive.capture import records
from newsarchive.fetch.exchange import Exchange
from tests.plugins.warcs import read_records


def parse(raw: bytes):  # type: ignore[no-untyped-def]
    return next(iter(read_records(io.BytesIO(raw))))


def test_gzip_body_is_stored_gzip_encoded_with_its_header() -> None:
    html = b"<html><p>story</p></html>"
    body = gzip.compress(html)
    ex = Exchange(
        url="http://n.example/a",
        method="GET",
        request_headers=[],
        status=200,
        response_headers=[(b"Content-Encoding", b"gzip"), (b"Content-Length", str(len(body)).encode())],
        body=body,
        fetched_at=datetime(2026, 1, 2, tzinfo=UTC),
    )
    rid = records.new_record_id()
    rec = parse(records.response_record(ex, rid, records.sha1_digest(body)))
    assert rec.http_headers.get_header("Content-Encoding") == "gzip"
    assert rec.raw_stream.read() == body  # the bytes as sent, not decompressed
    assert rec.rec_headers.get_header("WARC-Date") == "2026-01-02T00:00:00.000000Z"
    assert rec.rec_headers.get_header("WARC-Payload-Digest") == records.sha1_digest(body)


def test_chunked_header_is_dropped_and_recorded_because_body_is_dechunked() -> None:
    ex = Exchange(
        url="http://n.example/c",
        method="GET",
        request_headers=[],
        status=200,
        response_headers=[(b"Transfer-Encoding", b"chunked"), (b"Content-Type", b"text/html")],
        body=b"whole body",
        fetched_at=datetime.now(UTC),
    )
    rec = parse(records.response_record(ex, records.new_record_id(), records.sha1_digest(b"whole body")))
    assert rec.http_headers.get_header("Transfer-Encoding") is None
    assert rec.rec_headers.get_header("WARC-Newsarchive-Transfer-Decoded") == "chunked"
    assert rec.content_stream().read() == b"whole body"


def test_status_line_gets_a_standard_reason() -> None:
    ex = Exchange("http://n/x", "GET", [], 301, [(b"Location", b"/y")], b"", datetime.now(UTC))
    assert ex.status_line() == "HTTP/1.1 301 Moved Permanently"
    ex.status = 799
    assert ex.status_line() == "HTTP/1.1 799"
