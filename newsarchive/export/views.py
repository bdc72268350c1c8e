"""Views of an export that pick rows across the whole collection: latest, stories.

- ``latest``: one row per URL, its latest capture (by ``captured``).
- ``dedupe``: one row per story (``story_id``), its earliest capture (or latest
  with ``prefer="latest"``), with ``also_at``: every *other* URL of the story
  and the times it was captured there (never the row's own URL).
- ``stories``: one row per story like ``dedupe``, with ``versions``: every
  capture of the story (URL, host, time, title, publisher, words, record id).

``latest`` applies first, so ``latest`` with ``dedupe`` keeps one row per story
among the latest captures of each URL. Choosing needs the whole collection,
so the filtered rows are spilled to a temporary Parquet file (bounded memory),
DuckDB picks the rows to keep from their small key columns (out of core when
it must), and the spill is streamed back in order with the picked rows'
extra column attached.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsarchive.exceptions import ConfigError, UserError
from newsarchive.export.columns import arrow_types

SEQ = "_seq"
PREFER = ("earliest", "latest")


@dataclass(frozen=True)
class View:
    """Which rows an export keeps across the collection (default: every capture)."""

    latest: bool = False
    stories: str | None = None  # None, "dedupe" or "stories"
    prefer: str = "earliest"

    def __post_init__(self) -> None:
        if self.stories not in (None, "dedupe", "stories"):
            raise ConfigError(f"stories view {self.stories!r}: use dedupe or stories")
        if self.prefer not in PREFER:
            raise ConfigError(f"--prefer {self.prefer!r}: use one of {', '.join(PREFER)}")

    @property
    def active(self) -> bool:
        """Whether rows are chosen across the collection at all."""
        return self.latest or self.stories is not None

    @property
    def extra(self) -> str | None:
        """The column the view adds: ``also_at``, ``versions`` or none."""
        return {"dedupe": "also_at", "stories": "versions"}.get(self.stories or "")


def _sql(view: View, spill: str) -> str:
    pool = "base"
    parts = [f"base AS (SELECT {SEQ}, url, captured, story_id, host, title, publisher, "
             f"word_count, record_id FROM read_parquet('{spill}'))"]
    if view.latest:
        parts.append(
            "latest AS (SELECT * FROM base QUALIFY row_number() OVER "
            f"(PARTITION BY url ORDER BY captured DESC NULLS LAST, {SEQ} DESC) = 1)"
        )
        pool = "latest"
    if view.stories is None:
        return f"WITH {', '.join(parts)} SELECT {SEQ} FROM {pool} ORDER BY {SEQ}"
    order = "ASC" if view.prefer == "earliest" else "DESC"
    parts.append(
        f"ranked AS (SELECT *, row_number() OVER (PARTITION BY story_id ORDER BY "
        f"captured {order} NULLS LAST, {SEQ} {order}) AS rk FROM {pool})"
    )
    parts.append("kept AS (SELECT * FROM ranked WHERE rk = 1)")
    if view.stories == "dedupe":
        parts.append(
            "urls AS (SELECT story_id, url, list(captured ORDER BY captured) AS captured "
            f"FROM {pool} GROUP BY story_id, url)"
        )
        return (
            f"WITH {', '.join(parts)} SELECT k.{SEQ}, coalesce(list("
            "{'url': u.url, 'captured': u.captured} ORDER BY u.captured[1], u.url) "
            "FILTER (WHERE u.url IS NOT NULL), []) AS also_at "
            "FROM kept k LEFT JOIN urls u ON u.story_id = k.story_id AND u.url <> k.url "
            f"GROUP BY k.{SEQ} ORDER BY k.{SEQ}"
        )
    return (
        f"WITH {', '.join(parts)} SELECT k.{SEQ}, list("
        "{'url': v.url, 'host': v.host, 'captured': v.captured, 'title': v.title, "
        "'publisher': v.publisher, 'word_count': v.word_count, 'record_id': v.record_id} "
        f"ORDER BY v.captured, v.{SEQ}) AS versions "
        f"FROM kept k JOIN {pool} v ON v.story_id = k.story_id GROUP BY k.{SEQ} ORDER BY k.{SEQ}"
    )


def apply_view(tables: Iterator[Any], view: View, batch_rows: int = 2000) -> Iterator[Any]:
    """The tables of ``tables`` (export columns) reduced to ``view``'s rows, in order.

    Raises :class:`UserError` when a story view meets articles without a
    ``story_id`` (a catalog built before story clusters, or none at all).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not view.active:
        yield from tables
        return
    with tempfile.TemporaryDirectory(prefix="newsarchive-view-") as tmp:
        spill = Path(tmp) / "rows.parquet"
        writer = None
        seq = missing = 0
        try:
            for table in tables:
                if view.stories is not None:
                    missing += table["story_id"].null_count
                table = table.append_column(SEQ, pa.array(range(seq, seq + table.num_rows),
                                                           pa.int64()))
                seq += table.num_rows
                if writer is None:
                    writer = pq.ParquetWriter(spill, table.schema, compression="lz4")
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            return
        if missing:
            raise UserError(
                f"{missing} article(s) have no story_id in the catalog; run "
                "`newsarchive index COLLECTION` to build the story clusters"
            )
        import duckdb

        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET temp_directory = '{tmp}/duckdb'")
        picked = con.sql(_sql(view, str(spill))).to_arrow_reader(batch_rows)
        extra = view.extra
        extra_type = arrow_types()[extra] if extra else None
        buffer = None
        done = False
        for batch in pq.ParquetFile(spill).iter_batches(batch_size=batch_rows):
            last = batch[SEQ][-1].as_py()
            while not done and (buffer is None or not buffer.num_rows
                                or buffer[SEQ][-1].as_py() < last):
                try:
                    more = pa.Table.from_batches([picked.read_next_batch()])
                except StopIteration:
                    done = True
                    break
                buffer = more if buffer is None else pa.concat_tables([buffer, more])
            if buffer is None or not buffer.num_rows:
                continue
            here = pc.less_equal(buffer[SEQ], last)
            mine, buffer = buffer.filter(here), buffer.filter(pc.invert(here))
            rows = pa.Table.from_batches([batch])
            rows = rows.filter(pc.is_in(rows[SEQ], value_set=mine[SEQ].combine_chunks()))
            rows = rows.drop_columns([SEQ])
            if extra:
                rows = rows.append_column(extra, mine[extra].cast(extra_type))
            if rows.num_rows:
                yield rows
