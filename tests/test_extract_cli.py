"""``newsarchive extract``: stdout for one page, NAME.json/NAME.txt for many, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from newsarchive.cli.main import main

DATA = Path(__file__).parent / "data"


@pytest.mark.slow  # CLI processes
def test_one_file_prints_the_sidecar(capsys: pytest.CaptureFixture[str]) -> None:
    url = "http://news.example.com/news/belarus.html"
    assert main(["extract", str(DATA / "wire-story" / "yahoo.html"), "--url", url]) == 0
    sidecar = json.loads(capsys.readouterr().out)
    assert sidecar["url"] == url and sidecar["dateline"] == "TALLINN, Estonia"


@pytest.mark.slow  # a CLI process with extraction workers
def test_folder_with_jobs_writes_json_and_txt(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    shutil.copytree(DATA / "extract", pages)
    (pages / "garbage.html").write_bytes(b"\x00\x01\x02" * 3000)
    out = tmp_path / "out"
    code = main(["extract", str(pages), "--out", str(out), "--jobs", "2"])
    assert code == 1  # the garbage page is reported, the others are written
    sidecar = json.loads((out / "german.json").read_text(encoding="utf-8"))
    assert sidecar["language"] == "de" and sidecar["language_declared"] == "de-DE"
    assert (out / "german.txt").read_text(encoding="utf-8").startswith("Der Stadtrat")
    assert json.loads((out / "section-front.json").read_text())["is_article"] is False
    assert not (out / "garbage.json").exists()


@pytest.mark.slow  # CLI processes
def test_folder_with_jobs_2_writes_what_jobs_1_writes(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    shutil.copytree(DATA / "extract", pages)
    shutil.copy(DATA / "wire-story" / "yahoo.html", pages)
    outs = {jobs: tmp_path / f"out{jobs}" for jobs in (1, 2)}
    for jobs, out in outs.items():
        assert main(["extract", str(pages), "--out", str(out), "--jobs", str(jobs)]) == 0
    written = {jobs: {p.name: p.read_bytes() for p in out.iterdir()} for jobs, out in outs.items()}
    assert len(written[1]) == 2 * len(list(pages.glob("*.html")))
    assert written[2] == written[1]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["extract", "missing.html"], 2, "no such file"),
        (["extract", "{data}/extract", "--url", "http://x.example/"], 2, "one file"),
        (["extract", "{data}/extract"], 2, "--out DIR"),
        (["extract", "{data}/wire-story/yahoo.html", "--url", "ftp://x"], 2, "not a URL"),
        (["extract", "{data}/wire-story/yahoo.html", "--jobs", "0"], 2, "--jobs"),
    ],
)
def test_bad_input_is_a_one_line_error(argv: list[str], code: int, message: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a.format(data=DATA) for a in argv]
    assert main(argv) == code
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_warc_input_has_its_own_entry_point(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    warc = tmp_path / "a.warc.gz"
    warc.write_bytes(b"")
    # An empty WARC is refused by the WARC path (no --out, or no records), never
    # mistaken for an HTML page.
    assert main(["extract", str(warc)]) in (1, 2)
    assert "no .html files" not in capsys.readouterr().err
