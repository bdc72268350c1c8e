"""Recovery of ``.open`` files a kill left behind."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from newsarchive.capture.check import check_path
from newsarchive.capture.recovery import recover_directory

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
