"""Export columns stored in the catalog: export reads columns instead of parsing sidecars.

When a WARC's catalog part is built (:func:`newsarchive.index.catalog.build_part`,
by the crawl's indexer or ``newsarchive index``), its sidecar file is run
through the export engine (:mod:`newsarchive.index.arrow_rows`) once, and each
article's export row goes into the catalog row of its capture as the struct
column ``article`` (every export column but ``collection`` and ``story_id``,
which the catalog row has already). Export then reads that column from Parquet
-- decompressed and decoded by pyarrow in C++, no JSON parsed -- instead of
inflating and parsing the sidecar file again: the sidecar's gzip members and
JSON cost most of an export's time (``benchmarks/export.py``).

The rows are the export engine's own, so both paths give the same table by
construction. A part is used only when it still describes the sidecar file
as it is now and holds every article of it (:func:`usable`): the part's
metadata records the file's size, its last bytes (the last gzip member's CRC
and length) and its article count. A sidecar file written or re-extracted
after the catalog, a collection indexed before this column existed, a damaged
sidecar file, or sidecars without a capture in the index: all are read from
the sidecar file as before.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from newsarchive.index.columns import FIELDS, export_schema

if TYPE_CHECKING:
    from newsarchive.index.spill import PartSpill

logger = logging.getLogger(__name__)

#: the catalog column holding an article's export row
COLUMN = "article"
#: Parquet key-value metadata of a catalog part: where its ``article`` values came from
META_KEY = b"newsarchive.article_source"
#: export columns the catalog row supplies itself (not stored in ``article``)
OWN = ("collection", "story_id")
_TAIL = 64


def stored_fields() -> tuple[str, ...]:
    """The export columns kept in the ``article`` struct, in export order."""
    return tuple(f for f in FIELDS if f not in OWN)


def article_type() -> Any:
    """Arrow type of the ``article`` column."""
    import pyarrow as pa

    return pa.struct(list(export_schema(stored_fields())))


def source_stamp(uri: str) -> dict[str, Any]:
    """Size and last bytes of a sidecar file (local or ``s3://``): what says it is unchanged."""
    from newsarchive.store import is_remote, read_range

    if is_remote(uri):
        from newsarchive.store import _locate

        store, key = _locate(uri, None, None)
        info = store.head(key)
        size = info.size if info is not None else 0
    else:
        size = os.stat(uri).st_size
    tail = read_range(uri, max(0, size - _TAIL), min(size, _TAIL)) if size else b""
    return {"size": size, "tail": tail.hex()}


def article_rows(sidecar_uri: str, spill: PartSpill) -> dict[str, Any] | None:
    """The export rows of a sidecar file's articles (file order), written block by block
    ``spill``; returns the part metadata that vouches for them, or None when the file
    is damaged (export then reads it itself)."""
    from newsarchive.index.arrow_rows import articles_of, iter_blocks, parse_block

    stamp = source_stamp(sidecar_uri)
    faults: list[str] = []
    for block, longest in iter_blocks(sidecar_uri, faults=faults):
        spill.add_articles(articles_of(parse_block(block, longest, sidecar_uri), "")
                           .select(list(stored_fields())))
    spill.finish_articles(export_schema(FIELDS).empty_table().select(list(stored_fields())))
    if faults or stamp != source_stamp(sidecar_uri):
        return None
    return {**stamp, "articles": spill.article_count}


def attach(part: Any, rows: PartSpill) -> Any:
    """Catalog rows ``part`` with the ``article`` column filled from the export rows
    in ``rows`` (:func:`article_rows`), matched on WARC file and offset."""
    return rows.attach(part, COLUMN, article_type())


def in_file_order(keys: Iterable[tuple[str | None, int | None]],
                  member_offset: Callable[[tuple[str, int]], int | None]) -> bool:
    """Whether sorting the export rows (their ``keys``, in file order) by their sidecar
    member's offset keeps their file order (one sidecar per member, as the crawl
    writes them)."""
    last = -1
    for name, off in keys:
        here = member_offset((name, off)) if name is not None and off is not None else None
        if here is None or here <= last:
            return False
        last = here
    return True


def part_metadata(info: dict[str, Any]) -> dict[bytes, bytes]:
    """Schema metadata of a catalog part whose ``article`` values come from ``info``."""
    return {META_KEY: json.dumps(info, sort_keys=True).encode()}


def read_stored(parts: list[str], sidecar_uri: str) -> tuple[Any, Any] | None:
    """``(table, order)``: the catalog ``parts`` of ``sidecar_uri`` (columns ``article``,
    ``story_id``) and the indices of its articles in the sidecar file's order (take
    slices with :func:`export_slice`); None when they cannot stand in for the file.

    Nothing is copied here: the rows are taken a slice at a time, so memory holds
    one WARC's catalog rows and a few slices.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from newsarchive.index.arrow_rows import _open_parquet

    if not parts:
        return None
    tables, info = [], None
    for uri in parts:
        with _open_parquet(uri) as fh:
            pf = pq.ParquetFile(fh)
            meta = pf.schema_arrow.metadata or {}
            if COLUMN not in pf.schema_arrow.names or META_KEY not in meta:
                return None
            here = json.loads(meta[META_KEY])
            if info is not None and here != info:
                return None
            info = here
            tables.append(pf.read(columns=[COLUMN, "sidecar_offset", "story_id"]))
    assert info is not None
    table = pa.concat_tables(tables)
    rows = pc.indices_nonzero(pc.is_valid(table[COLUMN]))
    if len(rows) != info["articles"] or not info.get("ordered"):
        return None
    if source_stamp(sidecar_uri) != {"size": info["size"], "tail": info["tail"]}:
        logger.debug("%s changed since its catalog part; reading the file", sidecar_uri)
        return None
    order = pc.take(rows, pc.sort_indices(pc.take(table["sidecar_offset"], rows)))
    return table.select([COLUMN, "story_id"]), order


def export_slice(table: Any, indices: Any) -> Any:
    """Export rows (every column but ``collection``) of ``table``'s rows at ``indices``."""
    import pyarrow as pa

    part = table.take(indices)
    art = part[COLUMN].combine_chunks()
    cols = {f: art.field(f) for f in stored_fields()}
    cols["story_id"] = part["story_id"]
    names = [f for f in FIELDS if f != "collection"]
    return pa.Table.from_arrays([cols[f] for f in names], names=names)
