"""``newsarchive query`` reads the catalog and nothing else: no file written, no database
attached, no file read by SQL, no extension installed -- one line, exit 2."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from newsarchive.cli.main import main


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    """A catalog of two parts written by different versions (one has a column more)."""
    coll = tmp_path / "coll"
    old = coll / "catalog" / "collection=coll" / "date=2026-03-01"
    new = coll / "catalog" / "collection=coll" / "date=2026-03-02"
    old.mkdir(parents=True)
    new.mkdir(parents=True)
    pq.write_table(pa.table({"url": ["http://a.example/1", "http://a.example/2"],
                             "is_article": [True, False]}), old / "part-a.parquet")
    pq.write_table(pa.table({"url": ["http://a.example/3"], "is_article": [True],
                             "word_count": pa.array([420], pa.int32())}), new / "part-b.parquet")
    return coll


def test_ordinary_queries_work(collection: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = ("SELECT url, date, collection, word_count FROM catalog WHERE is_article "
           "ORDER BY url")
    assert main(["query", sql, str(collection), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {"url": "http://a.example/1", "date": str(date(2026, 3, 1)), "collection": "coll",
         "word_count": None},
        {"url": "http://a.example/3", "date": str(date(2026, 3, 2)), "collection": "coll",
         "word_count": 420},
    ]


@pytest.mark.parametrize("sql", [
    "COPY (SELECT 1) TO '{tmp}/x.csv'",
    "COPY (SELECT * FROM catalog) TO '{part}' (FORMAT parquet, USE_TMP_FILE false)",
    "ATTACH '{tmp}/x.db'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_parquet('{part}')",
    "INSTALL httpfs",
    "SET enable_external_access = true",
    "EXPORT DATABASE '{tmp}/dump'",
], ids=["copy-to", "overwrite-catalog", "attach", "read-file", "read-parquet", "install",
        "set-back", "export"])
def test_writes_and_outside_access_are_refused(collection: Path, tmp_path: Path, sql: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    part = next(collection.rglob("part-a.parquet"))
    before = part.read_bytes()
    assert main(["query", sql.format(tmp=tmp_path, part=part), str(collection)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("newsarchive: error: query failed: ") and err.count("\n") == 1
    assert "read-only" in err
    assert part.read_bytes() == before
    assert not any((tmp_path / name).exists() for name in ("x.csv", "x.db", "dump"))


def test_our_own_queries_read_the_catalog_as_a_users_query_does(collection: Path) -> None:
    """The report's connection (DuckDB's own Parquet reader, ``trusted``) sees the same
    rows, columns and types as a user's, partitions and older parts included."""
    from newsarchive.collection import Collection
    from newsarchive.index.query import connect

    globbed = collection.parent / "archive[2026]" / collection.name  # a glob to DuckDB
    globbed.parent.mkdir()
    collection.rename(globbed)
    for folder in (globbed, collection):
        if folder == collection:
            globbed.rename(collection)
        coll = Collection.open(str(folder), must_have_warcs=False)
        sql = "SELECT * FROM catalog ORDER BY url"
        user, ours = connect([coll]).execute(sql), connect([coll], trusted=True).execute(sql)
        assert [(d[0], d[1]) for d in ours.description] == \
            [(d[0], d[1]) for d in user.description]
        rows = ours.fetchall()
        assert rows == user.fetchall()
        assert [(r[0], r[-1]) for r in rows] == [("http://a.example/1", date(2026, 3, 1)),
                                                 ("http://a.example/2", date(2026, 3, 1)),
                                                 ("http://a.example/3", date(2026, 3, 2))]
