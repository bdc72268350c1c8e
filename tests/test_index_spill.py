"""A catalog part is built with its sidecars kept on disk (newsarchive.index.spill), so
the indexer's memory does not grow with the WARC: the part is the same however the
sidecar file is cut into blocks and the rows into pieces, and nothing is left behind."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from newsarchive.index import arrow_rows, spill
from newsarchive.index.catalog import build_part
from newsarchive.layout import Layout
from tests.plugins.collection import copy_collection


def parts(catalog: Path) -> dict[str, object]:
    return {p.name: pq.read_table(p, partitioning=None) for p in sorted(catalog.rglob("*.parquet"))}


def rebuild(folder: Path) -> None:
    layout = Layout(folder)
    for warc in sorted(layout.warc_dir.glob("*.warc.gz")):
        name = warc.name
        sidecars = layout.sidecars_for(name)
        build_part(str(layout.index_for(name)), str(sidecars) if sidecars.exists() else None,
                   layout.catalog_dir, folder.name, name)


def test_a_part_built_in_small_blocks_and_pieces_is_the_crawls_part(
        demo_collection: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = copy_collection(demo_collection, tmp_path / "demo")
    rebuild(folder)  # the default blocks and pieces, named after this folder
    expected = parts(Layout(folder).catalog_dir)
    articles = sum(t.column("article").length() - t.column("article").null_count
                   for t in expected.values())  # type: ignore[attr-defined]
    assert articles > 20
    blocks = arrow_rows.iter_blocks
    monkeypatch.setattr(arrow_rows, "iter_blocks",
                        lambda uri, faults=None: blocks(uri, 4096, faults))  # many batches
    monkeypatch.setattr(spill, "TAKE_ROWS", 7)
    rebuild(folder)
    got = parts(Layout(folder).catalog_dir)
    assert got.keys() == expected.keys()
    for name, table in got.items():
        assert table.equals(expected[name])  # type: ignore[attr-defined]
        assert table.schema.metadata == expected[name].schema.metadata  # type: ignore[attr-defined]
    assert not list(Layout(folder).catalog_dir.glob(".catalog-build-*"))  # removed


def test_each_mapping_of_the_export_rows_serves_one_record_batch(
        demo_collection: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages a mapping touches stay resident until it is closed, and a piece of catalog
    rows (URL order) takes from every batch of the file: mapped once per piece, the whole
    file was resident at the build's peak (~4.4 KB per capture, issue #19). Each read of a
    batch has a mapping of its own, so at most one batch (a block of sidecars) is."""
    import pyarrow as pa

    folder = copy_collection(demo_collection, tmp_path / "demo")
    blocks = arrow_rows.iter_blocks
    monkeypatch.setattr(arrow_rows, "iter_blocks",
                        lambda uri, faults=None: blocks(uri, 4096, faults))  # many batches
    served: list[int] = []  # batches read from each reader (each reader: one mapping)
    open_file = pa.ipc.open_file

    class Counting:
        def __init__(self, reader: pa.ipc.RecordBatchFileReader) -> None:
            self.reader, self.n = reader, len(served)
            served.append(0)

        def get_batch(self, i: int) -> pa.RecordBatch:
            served[self.n] += 1
            return self.reader.get_batch(i)

        def __getattr__(self, name: str) -> object:
            return getattr(self.reader, name)

    monkeypatch.setattr(pa.ipc, "open_file",
                        lambda source, *a, **k: Counting(open_file(source, *a, **k)))
    rebuild(folder)
    assert set(served) == {1}  # one batch per mapping
    assert len(served) > 10  # mappings
    assert sum(t.column("article").length() - t.column("article").null_count  # type: ignore[attr-defined]
               for t in parts(Layout(folder).catalog_dir).values()) > 20
