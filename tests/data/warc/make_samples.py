"""Regenerates the sample WARCs in this folder (good and deliberately broken).

Run from the project root: ``.venv/bin/python tests/data/warc/make_samples.py``.
The files are committed so tests read fixed bytes, as warcio's own tests do.
"""

from __future__ import annotations

import gzip
import io
import zlib
from datetime import UTC, datetime
from pathlib import Path

from newsarchive.capture import records
from newsarchive.capture.writer import gzip_member
from newsarchive.fetch.exchange import Exchange

HERE = Path(__file__).parent
WHEN = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)


def exchange(path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> Exchange:
    return Exchange(
        url=f"http://news.example.com{path}",
        method="GET",
        request_headers=[(b"User-Agent", b"newsarchive/test"), (b"Accept-Encoding", b"gzip")],
        status=200,
        response_headers=headers,
        body=body,
        fetched_at=WHEN,
        ip_address="127.0.0.1",
    )


def good_records() -> list[bytes]:
    html = b"<html><body><article><p>A story.</p></article></body></html>"
    gz = gzip.compress(html, mtime=0)
    out = [records.warcinfo_record("sample.warc.gz", {"software": "newsarchive test"}, WHEN)]
    for path, body, headers in (
        ("/plain.html", html, [(b"Content-Type", b"text/html; charset=utf-8")]),
        (
            "/gzipped.html",
            gz,
            [(b"Content-Type", b"text/html"), (b"Content-Encoding", b"gzip")],
        ),
    ):
        ex = exchange(path, body, headers)
        rid = records.new_record_id()
        out.append(records.response_record(ex, rid, records.sha1_digest(body)))
        out.append(records.request_record(ex, rid))
    return out


def main() -> None:
    members = [gzip_member(r, 6) for r in good_records()]
    good = b"".join(members)
    (HERE / "good.warc.gz").write_bytes(good)
    # Killed mid-write: the last member lacks its end.
    (HERE / "truncated.warc.gz").write_bytes(good[: len(good) - len(members[-1]) // 2])
    # A payload byte changed after the digests were computed; gzip itself is fine.
    raw = good_records()
    raw[1] = raw[1].replace(b"A story.", b"A stori.")
    (HERE / "bad-digest.warc.gz").write_bytes(b"".join(gzip_member(r, 6) for r in raw))
    # Corrupt deflate data in the middle of the file.
    broken = bytearray(good)
    mid = len(members[0]) + len(members[1]) // 2
    broken[mid : mid + 8] = b"\x00" * 8
    (HERE / "corrupt-gzip.warc.gz").write_bytes(bytes(broken))
    # Gzip, but not a WARC.
    co = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    (HERE / "not-a-warc.warc.gz").write_bytes(
        co.compress(b"<html>this is a web page, not a WARC</html>\n") + co.flush()
    )
    assert io  # keep import for readers who extend this


if __name__ == "__main__":
    main()
