"""The tests' WARC reader fails on a wrong digest (warcio alone only notes it)."""

from __future__ import annotations

import io

import pytest
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tests.plugins.warcs import read_records


def _warc(body: bytes) -> bytes:
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    headers = StatusAndHeaders("200 OK", [("Content-Type", "text/plain")], protocol="HTTP/1.1")
    record = writer.create_warc_record("http://example.org/", "response",
                                       payload=io.BytesIO(body), http_headers=headers)
    writer.write_record(record)
    return buf.getvalue()


def test_a_good_record_reads_and_a_bad_digest_fails() -> None:
    good = _warc(b"hello world")
    assert [r.content_stream().read() for r in read_records(io.BytesIO(good))] == [b"hello world"]
    bad = good.replace(b"hello world", b"hello WORLD")  # same length, digests now wrong
    with pytest.raises(ArchiveLoadFailed, match="digest"):
        for rec in read_records(io.BytesIO(bad)):
            rec.content_stream().read()
    with pytest.raises(ArchiveLoadFailed, match="digest"):
        list(read_records(io.BytesIO(bad)))  # skipping the body checks it too
