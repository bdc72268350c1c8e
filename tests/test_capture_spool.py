"""Large bodies through a spool: streamed into their record with right digests;
a record that fails half way leaves no partial member behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newsarchive.capture.check import check_path
from newsarchive.capture.records import sha1_digest
from newsarchive.capture.service import WarcWriterService
from newsarchive.capture.writer import WarcFileSet
from newsarchive.fetch.spool import Spool
from tests.test_capture_service import make_exchange, read_records

BODY = os.urandom(300_000) * 10  # 3 MB, compresses poorly in places


def spooled(body: bytes, tmp: Path, memory: int = 64 * 1024) -> Spool:
    spool = Spool(memory, tmp / "tmp")
    for i in range(0, len(body), 65536):
        spool.write(body[i : i + 65536])
    return spool


def test_a_spilled_body_is_streamed_into_a_valid_record(tmp_path: Path) -> None:
    spool = spooled(BODY, tmp_path)
    assert spool.spilled and spool.size == len(BODY)
    assert spool.payload_digest() == sha1_digest(BODY) and spool.head(10) == BODY[:10]
    service = WarcWriterService(tmp_path, dedup=False)
    service.submit(make_exchange("/big.bin", b"", spool=spool,
                                 warc_headers={"WARC-Truncated": "length"}))
    service.submit(make_exchange("/small.html", b"<p>small</p>"))
    service.close()
    records = {(t, h["WARC-Target-URI"]): (h, body) for t, h, body in read_records(tmp_path)
               if t == "response"}
    head, body = records[("response", "http://news.example.com/big.bin")]
    assert body == BODY and head["WARC-Truncated"] == "length"
    assert head["WARC-Payload-Digest"] == sha1_digest(BODY)
    reports = [check_path(str(f)) for f in (tmp_path / "warc").glob("*.warc.gz")]
    assert reports and all(r.ok for r in reports), [r.errors for r in reports]
    assert not any((tmp_path / "tmp").iterdir())  # the spool's file is gone


def test_a_record_failing_half_way_is_cut_back(tmp_path: Path) -> None:
    files = WarcFileSet(tmp_path)
    files.write([b"WARC/1.1\r\nWARC-Type: resource\r\n\r\n"])  # opens the file

    def fails(out, warcinfo_id):  # type: ignore[no-untyped-def]
        out.write(BODY)
        raise RuntimeError("the spool's disk went away")

    size = files._warc.size  # type: ignore[union-attr]
    with pytest.raises(RuntimeError):
        files.write_streamed(fails, [])
    warc = files._warc
    assert warc is not None and warc.size == size
    assert os.path.getsize(warc.open_path) == size
