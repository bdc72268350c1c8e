"""The index lines the writer makes as it writes: the same index cdxj-indexer builds by
reading the file, byte for byte; a file they cannot cover is read again instead."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from newsarchive.capture.service import WarcWriterService
from newsarchive.fetch.exchange import Exchange
from newsarchive.index.cdxj import index_from_lines, index_warc
from tests.test_capture_service import make_exchange as plain_exchange
from tests.test_capture_spool import BODY, spooled


def make_exchange(path: str, body: bytes, **changes: Any) -> Exchange:
    return dataclasses.replace(plain_exchange(path, body), **changes)


def write(tmp_path: Path, submit: Any, **options: Any) -> list[tuple[Path, Any]]:
    """Run ``submit(service)`` on a service making index lines; the closed WARCs and
    the lines each was handed over with (None: none)."""
    closed: list[tuple[Path, Any]] = []

    def on_close(path: Path, kind: str, **extra: Any) -> None:
        if kind == "warc":
            closed.append((path, extra.get("cdxj")))

    service = WarcWriterService(tmp_path, on_close=on_close, index_lines=True, **options)
    submit(service)
    service.close()
    return closed


def both_indexes(tmp_path: Path, warc: Path, lines: Any) -> tuple[bytes, bytes]:
    """The index made from the lines and the index read from the file."""
    made, read = tmp_path / "made.cdxj", tmp_path / "read.cdxj"
    assert index_from_lines(lines, made) == index_warc(warc, read)
    return made.read_bytes(), read.read_bytes()


def varied(service: WarcWriterService) -> None:
    """Responses of every kind the crawl writes, revisits, a streamed body, sidecars."""
    html = [(b"Content-Type", b"text/html; charset=utf-8")]
    service.submit(make_exchange("/a.html", b"<p>story</p>", response_headers=html))
    service.submit(make_exchange("/copy.html", b"<p>story</p>"))  # a revisit
    service.submit(make_exchange("/none", b"x", response_headers=[]))  # no Content-Type
    service.submit(make_exchange("/empty-type", b"y", response_headers=[(b"Content-Type", b"")]))
    service.submit(make_exchange("/moved", b"", status=301,
                                 response_headers=[(b"Location", b"/a.html")]))
    service.submit(make_exchange("/gone", b"not found", status=404))
    service.submit(make_exchange("/caf%C3%A9/%E6%96%B0?q=a%20b&X=%C3%BC#frag", b"<p>escaped</p>"))
    service.submit(make_exchange("/big.bin", b"", spool=spooled(BODY, service.directory),
                                 response_headers=[(b"Content-Type", b"application/pdf")]))
    ticket = service.submit(make_exchange("/b.html", b"<p>another</p>",
                                          response_headers=[(b"Content-Type", b"TEXT/HTML ;x")]))
    service.submit_sidecar(ticket.record_id, {"url": ticket.url, "text": "another"})
    service.submit_record("urn:newsarchive:dom:" + ticket.url, ticket.record_id,
                          b"<html></html>", "text/html; charset=utf-8", "resource")
    service.submit(make_exchange("/a.html", b"<p>changed story</p>"))  # same URL, new capture


def test_lines_made_while_writing_are_the_index_read_from_the_file(tmp_path: Path) -> None:
    out = tmp_path / "coll"
    closed = write(out, varied)
    assert len(closed) == 1
    warc, lines = closed[0]
    assert lines is not None
    made, read = both_indexes(tmp_path, warc, lines)
    assert made == read
    text = made.decode()
    assert '"mime": "warc/revisit"' in text and '"status": "301"' in text
    assert '"mime": "application/pdf"' in text and "urn:newsarchive:dom:" in text
    assert len(text.splitlines()) == 11  # the sidecar's metadata record is not a capture


def test_each_rotated_file_gets_its_own_lines(tmp_path: Path) -> None:
    def many(service: WarcWriterService) -> None:
        for i in range(30):
            service.submit(make_exchange(f"/p{i}.html", f"<p>story {i}</p>".encode() * 50))

    closed = write(tmp_path / "coll", many, max_size=4000)
    assert len(closed) > 3
    for warc, lines in closed:
        assert lines is not None
        made, read = both_indexes(tmp_path, warc, lines)
        assert made == read and made


def test_lines_sorted_in_runs_on_disk_give_the_same_index(tmp_path: Path) -> None:
    """A large WARC's lines are sorted in runs and merged, as cdxj-indexer does."""
    def many(service: WarcWriterService) -> None:
        for i in range(40):
            service.submit(make_exchange(f"/p{(i * 7) % 40}.html?v={i}", f"<p>{i}</p>".encode()))

    (warc, lines), = write(tmp_path / "coll", many)
    made, read = tmp_path / "made.cdxj", tmp_path / "read.cdxj"
    assert index_from_lines(lines, made, buffer=1000) == index_warc(warc, read) == 40
    assert made.read_bytes() == read.read_bytes()


def test_a_post_capture_leaves_the_file_to_be_read(tmp_path: Path) -> None:
    """cdxj-indexer keys a POST capture by its body: such a file gets no lines, and
    the index read from it has that key."""
    def post(service: WarcWriterService) -> None:
        service.submit(make_exchange("/a.html", b"<p>story</p>"))
        service.submit(make_exchange("/search", b"<p>results</p>", method="POST",
                                     request_body=b"q=news"))

    closed = write(tmp_path / "coll", post)
    assert [lines for _, lines in closed] == [None]
    index_warc(closed[0][0], tmp_path / "read.cdxj")
    assert "__wb_post_data" in (tmp_path / "read.cdxj").read_text()
