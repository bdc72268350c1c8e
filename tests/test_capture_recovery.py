"""Recovery of ``.open`` files a kill left behind, and of the sidecar line a kill cut."""

from __future__ import annotations

import gzip
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from newsarchive.capture import records
from newsarchive.capture.check import check_path
from newsarchive.capture.recovery import (
    missing_sidecar_line,
    recover_directory,
    restore_sidecar_line,
)
from newsarchive.capture.service import SIDECAR_CONTENT_TYPE
from newsarchive.capture.writer import WarcFileSet, gzip_member, sidecar_json
from newsarchive.layout import sidecar_name

DATA = Path(__file__).parent / "data" / "warc"


def test_open_file_is_cut_to_its_complete_records_and_closed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    warc_dir = tmp_path / "warc"
    warc_dir.mkdir()
    open_path = warc_dir / "x-20260314120000000-00001-h.warc.gz.open"
    open_path.write_bytes((DATA / "truncated.warc.gz").read_bytes())
    with caplog.at_level(logging.WARNING):
        recovered = recover_directory(tmp_path)
    assert len(recovered) == 1
    final = warc_dir / "x-20260314120000000-00001-h.warc.gz"
    assert recovered[0].path == final and recovered[0].records == 4
    assert not open_path.exists() and final.exists()
    report = check_path(str(final))
    assert report.ok, report.errors
    assert report.records == 4
    assert "4 records saved" in caplog.text


def test_open_file_without_a_capture_is_removed(tmp_path: Path) -> None:
    warc_dir = tmp_path / "warc"
    warc_dir.mkdir()
    good = (DATA / "good.warc.gz").read_bytes()
    open_path = warc_dir / "x-20260314120000000-00002-h.warc.gz.open"
    open_path.write_bytes(good[:100])  # not even the warcinfo member is whole
    recover_directory(tmp_path)
    assert list(warc_dir.iterdir()) == []


def test_complete_open_file_is_closed_unchanged(tmp_path: Path) -> None:
    warc_dir = tmp_path / "warc"
    warc_dir.mkdir()
    good = (DATA / "good.warc.gz").read_bytes()
    (warc_dir / "x-20260314120000000-00003-h.warc.gz.open").write_bytes(good)
    recover_directory(tmp_path)
    assert (warc_dir / "x-20260314120000000-00003-h.warc.gz").read_bytes() == good


def _sidecar(n: int) -> tuple[bytes, bytes]:
    """The line and the WARC record of the n-th sidecar of a page."""
    url = f"http://127.0.0.1/story-{n}"
    line = sidecar_json({"url": url, "title": f"Story {n}", "text": "x" * 300}) + b"\n"
    record = records.metadata_record(
        records.own_uri("sidecar", url), f"<urn:uuid:{n:08d}-0000-0000-0000-000000000000>",
        line[:-1], SIDECAR_CONTENT_TYPE, datetime(2026, 11, 30, tzinfo=UTC), refers_to_uri=url)
    return line, record


def _lines(path: Path) -> list[bytes]:
    with gzip.open(path, "rb") as fh:
        return list(fh)


@pytest.mark.parametrize("cut_line", [False, True])
def test_a_kill_between_a_sidecar_record_and_its_line_loses_no_sidecar_and_doubles_none(
    tmp_path: Path, cut_line: bool
) -> None:
    files = WarcFileSet(tmp_path, prefix="t", fsync="never")
    first, second = _sidecar(1), _sidecar(2)
    files.write_sidecar(*first)
    files.write([second[1]])  # the kill falls after the record, before (or in) the line
    warc_open = next((tmp_path / "warc").glob("*.open"))
    sidecars_open = next((tmp_path / "sidecars").glob("*.open"))
    if cut_line:
        with open(sidecars_open, "ab") as fh:
            fh.write(gzip_member(second[0], 6)[:40])
    # status reads the .open pair as it is: the cut line is the WARC's last record's
    assert missing_sidecar_line(warc_open, sidecars_open) == second[0]

    recover_directory(tmp_path)
    sidecars = next((tmp_path / "sidecars").glob("*.jsonl.gz"))
    assert _lines(sidecars) == [first[0], second[0]]
    assert check_path(str(next((tmp_path / "warc").glob("*.warc.gz")))).ok
    # Restoring is idempotent: a second look appends nothing.
    assert not restore_sidecar_line(next((tmp_path / "warc").glob("*.warc.gz")))
    assert _lines(sidecars) == [first[0], second[0]]


def test_a_kill_after_a_sidecar_line_changes_nothing(tmp_path: Path) -> None:
    files = WarcFileSet(tmp_path, prefix="t", fsync="never")
    written = [_sidecar(n) for n in range(3)]
    for line, record in written:
        files.write_sidecar(line, record)
    warc_open = next((tmp_path / "warc").glob("*.open"))
    sidecars_open = next((tmp_path / "sidecars").glob("*.open"))
    assert missing_sidecar_line(warc_open, sidecars_open) is None
    recover_directory(tmp_path)
    assert _lines(next((tmp_path / "sidecars").glob("*.jsonl.gz"))) == [w[0] for w in written]


def test_a_sidecar_line_lands_beside_the_warc_holding_its_record(tmp_path: Path) -> None:
    files = WarcFileSet(tmp_path, prefix="t", max_size=1500, fsync="never")
    for n in range(12):  # every few sidecars the record opens a new WARC file
        files.write_sidecar(*_sidecar(n))
    files.close()
    warcs = sorted((tmp_path / "warc").glob("*.warc.gz"))
    assert len(warcs) > 2
    for warc in warcs:
        with open(warc, "rb") as fh:
            in_warc = [rec.content_stream().read() + b"\n" for rec in ArchiveIterator(fh)
                       if rec.rec_type == "metadata"]
        assert _lines(tmp_path / "sidecars" / sidecar_name(warc.name)) == in_warc
