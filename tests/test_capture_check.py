"""``newsarchive warc check``: whole files pass, every kind of damage is named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from newsarchive.capture.check import check_path
from newsarchive.cli.main import main

DATA = Path(__file__).parent / "data" / "warc"


def test_good_file_passes_with_record_counts() -> None:
    report = check_path(str(DATA / "good.warc.gz"))
    assert report.ok, report.errors
    assert report.records == 5
    assert report.types == {"warcinfo": 1, "response": 2, "request": 2}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("truncated.warc.gz", "gzip member cut off"),
        ("bad-digest.warc.gz", "digest failed"),
        ("corrupt-gzip.warc.gz", "corrupt gzip data"),
        ("not-a-warc.warc.gz", "not a WARC"),
    ],
)
def test_damaged_files_fail_with_the_reason(name: str, expected: str) -> None:
    report = check_path(str(DATA / name))
    assert not report.ok
    assert any(expected in e for e in report.errors), report.errors


def test_warcio_check_alone_misses_a_cut_off_member() -> None:
    # Why we walk gzip members ourselves: warcio accepts the truncated file.
    warcio = Path(sys.executable).with_name("warcio")
    done = subprocess.run([str(warcio), "check", str(DATA / "truncated.warc.gz")], check=False)
    assert done.returncode == 0
    assert not check_path(str(DATA / "truncated.warc.gz")).ok


def test_cli_prints_a_table_and_exits_1_on_any_fault(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["warc", "check", str(DATA / "good.warc.gz"), str(DATA / "truncated.warc.gz")])
    out = capsys.readouterr().out
    assert code == 1
    assert "good.warc.gz" in out and " ok" in out
    assert "FAULT: offset" in out


def test_cli_on_a_folder_checks_every_warc(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.warc.gz").write_bytes((DATA / "good.warc.gz").read_bytes())
    (tmp_path / "notes.txt").write_text("not a warc")
    assert main(["warc", "check", "--json", str(tmp_path)]) == 0
    assert '"records": 5' in capsys.readouterr().out


def test_cli_missing_path_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["warc", "check", str(tmp_path / "nope.warc.gz")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and "no such file" in err
