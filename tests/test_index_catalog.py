"""CDXJ indexes written as WARCs close, `newsarchive index`, the Parquet catalog, `query`."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from newsarchive.collection import Collection
from newsarchive.index.catalog import schema
from newsarchive.index.cdxj import iter_index
from newsarchive.index.sidecars import iter_entries, read_sidecar
from newsarchive.store import read_range
from tests.plugins.collection import NEWSARCHIVE, copy_collection
from tests.plugins.warcs import read_records


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NEWSARCHIVE, *args], capture_output=True, text=True, timeout=120)


def replayable_records(warc: Path) -> list[tuple[str, str]]:
    with open(warc, "rb") as fh:
        return [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
            for r in read_records(fh)
            if r.rec_type in ("response", "revisit", "resource")
        ]


def test_the_crawl_indexes_every_warc_it_writes(demo_collection: Path) -> None:
    coll = Collection.open(demo_collection)
    warcs = coll.warcs()
    assert warcs
    for warc in warcs:
        index = demo_collection / "indexes" / (Path(warc).name.removesuffix(".warc.gz") + ".cdxj")
        lines = list(iter_index(index))
        records = replayable_records(Path(warc))
        assert len(lines) == len(records)
        assert sorted(line.url for line in lines) == sorted(uri for _, uri in records)
        keys = [(line.urlkey, line.timestamp) for line in lines]
        assert keys == sorted(keys), "pywb needs a sorted index"
        for line in lines[:10]:  # each line points at its record
            member = read_range(warc, line.offset, line.length)
            record = next(iter(read_records(io.BytesIO(member))))
            assert record.rec_headers.get_header("WARC-Target-URI") == line.url


def test_index_verb_rebuilds_the_same_indexes_and_catalog(demo_collection: Path, tmp_path: Path) -> None:
    coll_dir = copy_collection(demo_collection, tmp_path / "demo")
    before = {p.name: p.read_text() for p in (coll_dir / "indexes").glob("*.cdxj")}
    rows_before = ds.dataset(coll_dir / "catalog", partitioning="hive").count_rows()
    for sub in ("indexes", "catalog"):
        for p in sorted((coll_dir / sub).rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
    result = run("index", str(coll_dir), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["warcs"] == len(before)
    after = {p.name: p.read_text() for p in (coll_dir / "indexes").glob("*.cdxj")}
    assert after == before
    assert ds.dataset(coll_dir / "catalog", partitioning="hive").count_rows() == rows_before
    assert not list(coll_dir.rglob("*.tmp"))


def test_rebuild_replaces_parts_written_under_the_store_name(demo_collection: Path, tmp_path: Path) -> None:
    # A crawl with --store names its partition after the store; rebuilding the
    # spool folder (named differently) must not leave each capture counted twice.
    coll_dir = copy_collection(demo_collection, tmp_path / "spool")
    (coll_dir / "catalog" / "collection=demo").rename(coll_dir / "catalog" / "collection=archive")
    rows_before = ds.dataset(coll_dir / "catalog", partitioning="hive").count_rows()
    result = run("index", str(coll_dir), "--json")
    assert result.returncode == 0, result.stderr
    assert not list((coll_dir / "catalog" / "collection=archive").rglob("*.parquet"))
    assert ds.dataset(coll_dir / "catalog", partitioning="hive").count_rows() == rows_before


def test_catalog_joins_every_sidecar_to_its_capture(demo_collection: Path) -> None:
    coll = Collection.open(demo_collection)
    sidecars = {
        (e.sidecar["capture"]["warc_filename"], e.sidecar["capture"]["offset"]): e.sidecar
        for uri in coll.sidecar_files()
        for e in iter_entries(uri)
    }
    table = ds.dataset(
        demo_collection / "catalog", format="parquet", partitioning="hive"
    ).to_table()
    assert table.schema.field("warc_offset").type == schema().field("warc_offset").type
    assert set(table.column("collection").to_pylist()) == {"demo"}
    rows = table.to_pylist()
    articles = [r for r in rows if r["is_article"]]
    assert len(articles) == len(sidecars) > 0
    sidecar_dir = demo_collection / "sidecars"
    for row in articles:
        sc = sidecars[(row["warc_filename"], row["warc_offset"])]
        assert row["url"] == sc["url"] and row["title"] == sc["title"]
        assert row["fingerprint"] == sc.get("fingerprint")
        assert row["text_length"] == len(sc["text"])
        assert row["ads_count"] == len(sc["ads"])
        # the sidecar is one ranged read away
        again = read_sidecar(str(sidecar_dir / row["sidecar_file"]), row["sidecar_offset"],
                             row["sidecar_length"])
        assert again["url"] == row["url"]
    assert str(rows[0]["date"]) == rows[0]["timestamp"].date().isoformat()


def test_query_verb_runs_sql_over_the_catalog(demo_collection: Path) -> None:
    coll = Collection.open(demo_collection)
    n_sidecars = sum(1 for uri in coll.sidecar_files() for _ in iter_entries(uri))
    result = run("query", "SELECT count(*) AS n FROM catalog WHERE is_article", str(demo_collection), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"n": n_sidecars}]
    result = run("query", "SELECT url, status FROM catalog WHERE status = 200 ORDER BY url LIMIT 3",
                 str(demo_collection), "--csv")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["url", "status"] and len(rows) == 4 and rows[1][1] == "200"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["index", "/nonexistent/collection"], "no such collection folder"),
        (["query", "SELEC nonsense", "{demo}"], "query failed"),
        (["query", "SELECT 1 FROM catalog", "/tmp"], "no catalog in /tmp"),
    ],
)
def test_user_mistakes_are_one_line_errors(demo_collection: Path, args: list[str], expected: str) -> None:
    result = run(*[a.format(demo=demo_collection) for a in args])
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if "error" in line]) == 1
