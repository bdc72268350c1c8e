"""Export from the catalog's stored export rows: the same tables as parsing the sidecars,
and the sidecar file wherever the catalog no longer describes it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from newsarchive.export.batches import StoryIds, iter_tables
from newsarchive.export.filters import ExportFilter
from newsarchive.index.collection import Collection
from newsarchive.index.stored import read_stored
from tests.plugins.collection import copy_collection


def both_paths(coll: Collection, flt: ExportFilter | None = None) -> tuple[pa.Table, pa.Table]:
    stored = pa.concat_tables(iter_tables(coll, flt))
    parsed = pa.concat_tables(iter_tables(coll, flt, stored=False))
    return stored, parsed


def stored_files(coll: Collection) -> list[str]:
    parts = StoryIds(coll).parts
    return [uri for uri in coll.sidecar_files()
            if read_stored(parts.get(Path(uri).name.removesuffix(".sidecars.jsonl.gz"), []), uri)
            is not None]


def test_the_crawls_catalog_holds_every_article_as_export_gives_it(demo_collection: Path) -> None:
    coll = Collection.open(demo_collection)
    assert stored_files(coll) == coll.sidecar_files()  # every file read from the catalog
    stored, parsed = both_paths(coll)
    assert stored.num_rows > 20 and stored.equals(parsed)
    assert stored["story_id"].null_count < stored.num_rows
    flt = ExportFilter.build(since="2020-01-01", languages=["en"])
    some, some_parsed = both_paths(coll, flt)
    assert 0 < some.num_rows <= stored.num_rows and some.equals(some_parsed)


def test_a_sidecar_file_changed_after_indexing_is_read_from_the_file(demo_collection: Path,
                                                                     tmp_path: Path) -> None:
    folder = copy_collection(demo_collection, tmp_path / "demo")
    coll = Collection.open(folder)
    changed = coll.sidecar_files()[0]
    lines = gzip.decompress(Path(changed).read_bytes()).splitlines()
    with open(changed, "wb") as fh:  # re-extracted: every title edited, one member a line
        for line in lines:
            sc = json.loads(line)
            sc["title"] = f"Re-extracted: {sc.get('title')}"
            fh.write(gzip.compress(json.dumps(sc).encode() + b"\n"))
    assert changed not in stored_files(coll)
    assert len(stored_files(coll)) == len(coll.sidecar_files()) - 1
    stored, parsed = both_paths(coll)
    assert stored.equals(parsed)
    assert any(t.startswith("Re-extracted: ") for t in stored["title"].to_pylist())


def test_a_catalog_built_before_the_stored_rows_still_exports_the_same(demo_collection: Path,
                                                                       tmp_path: Path) -> None:
    folder = copy_collection(demo_collection, tmp_path / "demo")
    coll = Collection.open(folder)
    expected = pa.concat_tables(iter_tables(coll))
    for part in coll.catalog_files():  # as an older indexer wrote it
        table = pq.read_table(part, partitioning=None)
        pq.write_table(table.drop_columns(["article"]).replace_schema_metadata(None), part)
    assert stored_files(coll) == []
    stored, parsed = both_paths(coll)
    assert stored.equals(parsed) and stored.equals(expected)
