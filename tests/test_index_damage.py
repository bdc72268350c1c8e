"""``newsarchive index`` keeps going: damaged files and members, name clashes, catch-up."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from newsarchive.cli.main import main
from newsarchive.collection import Collection, index_name
from newsarchive.index.cdxj import iter_index
from tests.plugins.collection import copy_collection


def _pages(warc: Path, coll: Path) -> list[int]:
    """Offsets of the responses the crawl's index lists for ``warc``."""
    return sorted(line.offset for line in iter_index(coll / "indexes" / index_name(warc.name))
                  if not line.is_revisit)


@pytest.mark.slow
def test_a_damaged_file_never_stops_the_others(
    demo_collection: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coll = copy_collection(demo_collection, tmp_path / "coll")
    (original,) = sorted((coll / "warc").glob("*.warc.gz"))
    data = original.read_bytes()
    expected = {(x.url, x.timestamp) for x in iter_index(coll / "indexes" / index_name(
        original.name))}
    offsets = _pages(original, coll)
    middle = offsets[len(offsets) // 2]
    shutil.rmtree(coll / "indexes")
    shutil.rmtree(coll / "catalog", ignore_errors=True)
    original.rename(coll / "warc" / "a-good.warc.gz")
    (coll / "warc" / "b-garbage.warc.gz").write_bytes(b"\x1f\x8b\x08" + b"\0" * 500)
    (coll / "warc" / "c-corrupt.warc.gz").write_bytes(
        data[: middle + 40] + b"\0" * 64 + data[middle + 104:])
    (coll / "warc" / "d-good.warc.gz").write_bytes(data)
    code = main(["index", str(coll)])
    captured = capsys.readouterr()
    assert code == 1
    faults = [line for line in captured.err.splitlines() if line.startswith("FAULT:")]
    assert len(faults) == 2, captured.err
    assert "b-garbage.warc.gz" in faults[0] and "c-corrupt.warc.gz" in faults[1]
    assert f"offset {middle}:" in faults[1] and "reading resumed at offset" in faults[1]
    assert all(line.isprintable() for line in faults)
    for name in ("a-good", "d-good"):
        assert {(x.url, x.timestamp) for x in iter_index(coll / "indexes" / f"{name}.cdxj")
                } == expected
    corrupt = {(x.url, x.timestamp, x.offset) for x in iter_index(
        coll / "indexes" / "c-corrupt.cdxj")}
    # every capture but the damaged one, at the same offsets as in the whole file
    assert {(u, t) for u, t, _ in corrupt} < expected
    assert len(corrupt) == len(expected) - 1
    assert middle not in {o for _, _, o in corrupt}
    assert not (coll / "indexes" / "b-garbage.cdxj").exists()


def test_index_names_never_collide(tmp_path: Path) -> None:
    assert index_name("X.warc.gz") == "X.cdxj"
    names = {index_name(n) for n in (
        "X.warc.gz", "X.warc", "X.arc.gz", "X.arc", "X.warc.warc.gz", "X.arc.warc.gz")}
    assert len(names) == 6
    data = Path(__file__).parent / "data" / "warc" / "good.warc.gz"
    coll = tmp_path / "c"
    (coll / "warc").mkdir(parents=True)
    shutil.copy(data, coll / "warc" / "X.warc.gz")
    import gzip

    (coll / "warc" / "X.warc").write_bytes(gzip.decompress(data.read_bytes()))
    assert main(["index", str(coll), "--no-catalog", "--json"]) == 0
    made = sorted(p.name for p in (coll / "indexes").iterdir())
    assert made == ["X.cdxj", "X.warc.cdxj"]
    files = {line.filename for p in made for line in iter_index(coll / "indexes" / p)}
    assert files == {"X.warc.gz", "X.warc"}


def test_arc_files_of_a_collection_are_indexed(tmp_path: Path) -> None:
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "interop-warcs"
    if not shared.is_dir():
        pytest.skip(f"{shared} is absent (the interop sample files are read from there)")
    coll = tmp_path / "arcs"
    (coll / "warc").mkdir(parents=True)
    for name in ("warcio_example.arc", "warcio_example.arc.gz"):
        shutil.copy(shared / name, coll / "warc" / name)
    assert Collection.open(coll).warcs()  # ARC files count as archive files
    assert main(["index", str(coll), "--no-catalog"]) == 0
    for name in ("warcio_example.arc", "warcio_example.arc.gz"):
        lines = list(iter_index(coll / "indexes" / index_name(name)))
        assert [(x.url, x.status, x.filename) for x in lines] == [
            ("http://example.com/", 200, name)]


def test_catch_up_indexes_the_files_an_earlier_run_left(tmp_path: Path) -> None:
    from scrapy.utils.test import get_crawler

    from newsarchive.index.extension import IndexExtension

    data = Path(__file__).parent / "data" / "warc" / "good.warc.gz"
    (tmp_path / "warc").mkdir()
    shutil.copy(data, tmp_path / "warc" / "left.warc.gz")  # closed, never indexed
    shutil.copy(data, tmp_path / "warc" / "done.warc.gz")
    ext = IndexExtension(get_crawler(), tmp_path, catalog=False)
    assert ext.catch_up() == 2
    done = tmp_path / "indexes" / "done.cdxj"
    assert done.exists() and (tmp_path / "indexes" / "left.cdxj").exists()
    assert ext.catch_up() == 0  # up to date: nothing indexed twice
    (tmp_path / "warc" / "x.warc.gz.open").write_bytes(b"")  # still being written: left alone
    assert ext.catch_up() == 0
    lines = [json.loads(line.split(" ", 2)[2]) for line in done.read_text().splitlines()]
    assert {line["filename"] for line in lines} == {"done.warc.gz"}
