"""What building one WARC's catalog part keeps of its sidecars, on disk rather than in memory.

A catalog part joins each CDXJ line of a WARC with that capture's sidecar,
and an article's row also holds its whole export row (the ``article``
column, :mod:`newsarchive.index.stored`). The CDXJ is in URL order, the
sidecar file in the order pages were extracted, so the join needs random
access to one side. Held in memory, that side grew with the WARC: about
9 KB of Python objects and 3.7 KB of Arrow per article (measured on the demo
site, issue #19), over a gigabyte for a 1 GB WARC of 100,000 articles -- the
crawl's peak memory, when its indexer built the part at the end.

So the build keeps them in a temporary folder beside the catalog: each
sidecar's catalog fields (pickled) in a SQLite table keyed by WARC file and
offset, the export rows in an Arrow IPC file, one record batch per block of
sidecars (:data:`~newsarchive.index.arrow_rows.BLOCK_BYTES` of JSON). The
file is memory-mapped for one record batch at a time and unmapped after it:
the catalog rows are in URL order, so a piece of them takes its articles
from every batch of the file, and the pages a mapping touches stay in the
process's resident set until it is unmapped. Mapped once per piece, as
before, the whole file was resident at the end of each piece: ~4.4 KB per
capture at the build's peak (279 MB at 5,995 captures, 391 MB at 31,142,
issue #19). Memory is then bounded by a piece of rows and one block, not by
the WARC.
The folder and its files have hidden names: a scan for a collection's
finished files (``upload DIR``) never takes them for catalog parts.
"""

from __future__ import annotations

import bisect
import pickle
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from newsarchive.index.sidecars import SidecarEntry

#: rows whose ``article`` values are taken from the mapped file at once
TAKE_ROWS = 2_000
_LOOKUP = 500  # keys per SQLite query (under its 999-parameter limit, two per key)


class PartSpill:
    """A build's sidecar entries and export rows, in ``dir``/``.catalog-build-*``."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=".catalog-build-", dir=directory))
        self.db = sqlite3.connect(str(self.path / ".entries.sqlite"), check_same_thread=False)
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE entry (name TEXT, off INTEGER, member INTEGER, value BLOB,"
            " PRIMARY KEY (name, off))"
            " WITHOUT ROWID;"
            "CREATE TABLE arow (name TEXT, off INTEGER, idx INTEGER, PRIMARY KEY (name, off))"
            " WITHOUT ROWID;")
        self.articles = self.path / ".articles.arrow"
        self.article_count = 0
        self._writer: Any = None
        self._schema: Any = None
        self._starts: list[int] = []  # the first row of each record batch of the file

    def close(self) -> None:
        """Drop the temporary folder."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.db.close()
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> PartSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the sidecar entries (catalog fields), keyed by (WARC file, offset) ----------
    def put(self, key: tuple[str, int], entry: SidecarEntry) -> None:
        """Keep ``entry`` for ``key``; a later entry of the same key replaces it
        (as a later assignment to a dict key did)."""
        self.db.execute("INSERT OR REPLACE INTO entry VALUES (?, ?, ?, ?)",
                        (key[0], key[1], entry.offset,
                         pickle.dumps(entry, pickle.HIGHEST_PROTOCOL)))

    def get(self, key: tuple[str, int]) -> SidecarEntry | None:
        """The entry kept for ``key``, or None."""
        row = self.db.execute("SELECT value FROM entry WHERE name = ? AND off = ?",
                              key).fetchone()
        return pickle.loads(row[0]) if row else None  # type: ignore[no-any-return]

    def member_offset(self, key: tuple[str, int]) -> int | None:
        """Where the entry kept for ``key`` lies in the sidecar file, or None
        (read without unpickling the entry: asked once per article)."""
        row = self.db.execute("SELECT member FROM entry WHERE name = ? AND off = ?",
                              key).fetchone()
        return int(row[0]) if row else None

    # -- the export rows ----------------------------------------------------------
    def add_articles(self, table: Any) -> None:
        """Append a block of export rows (one schema for all blocks); the first row
        of a (WARC file, offset) is the one a catalog row of that capture gets."""
        import pyarrow as pa

        if self._writer is None:
            self._schema = table.schema
            self._writer = pa.ipc.new_file(str(self.articles), table.schema)
        first = self.article_count
        if table.num_rows:  # one record batch (a block's table comes in chunks of ~1 MB of
            # JSON: mapping the file for each of them cost ~0.2 ms, read from every one)
            self._writer.write_batch(table.combine_chunks().to_batches()[0])
            self._starts.append(first)
        names = table["warc_filename"].to_pylist()
        offsets = table["warc_offset"].to_pylist()
        self.db.executemany(
            "INSERT OR IGNORE INTO arow VALUES (?, ?, ?)",
            ((n, o, first + i) for i, (n, o) in enumerate(zip(names, offsets, strict=True))
             if n is not None and o is not None))
        self.article_count += table.num_rows

    def finish_articles(self, empty: Any) -> None:
        """No more export rows; ``empty`` (an empty table) gives the schema when none came."""
        import pyarrow as pa

        if self._writer is None:
            self._schema = empty.schema
            self._writer = pa.ipc.new_file(str(self.articles), empty.schema)
        self._writer.close()
        self._writer = None

    @contextmanager
    def _reader(self) -> Iterator[Any]:
        """A reader of the finished file, mapped only meanwhile: read one record batch
        from it, and keep nothing of the batch's own after (see the module docstring)."""
        import pyarrow as pa

        with pa.memory_map(str(self.articles)) as source:
            yield pa.ipc.open_file(source)

    def article_keys(self) -> Iterable[tuple[str | None, int | None]]:
        """(WARC file, offset) of every export row, in file order."""
        for i in range(len(self._starts)):
            with self._reader() as reader:
                batch = reader.get_batch(i)
                names = batch.column("warc_filename").to_pylist()
                offsets = batch.column("warc_offset").to_pylist()
                del batch  # unmapped as the reader closes
            yield from zip(names, offsets, strict=True)

    def _indices(self, names: list[str], offsets: list[int]) -> list[int | None]:
        found: dict[tuple[str, int], int] = {}
        keys = list(zip(names, offsets, strict=True))
        for start in range(0, len(keys), _LOOKUP):
            chunk = keys[start:start + _LOOKUP]
            where = " OR ".join(["(name = ? AND off = ?)"] * len(chunk))
            args = [v for key in chunk for v in key]
            for name, off, idx in self.db.execute(
                    f"SELECT name, off, idx FROM arow WHERE {where}", args):
                found[(name, off)] = idx
        return [found.get(key) for key in keys]

    def attach(self, part: Any, column: str, struct_type: Any) -> Any:
        """Catalog rows ``part`` with ``column`` filled from the export rows, matched
        on WARC file and offset (null where a capture has none)."""
        import pyarrow as pa

        if not self.article_count or not part.num_rows:
            return part
        names = part["warc_filename"].to_pylist()
        offsets = part["warc_offset"].to_pylist()
        pieces = [self._take(self._indices(names[start:start + TAKE_ROWS],
                                           offsets[start:start + TAKE_ROWS]), struct_type)
                  for start in range(0, part.num_rows, TAKE_ROWS)]
        found = pa.chunked_array(pieces, struct_type)
        return part.set_column(part.schema.get_field_index(column), column, found)

    def _take(self, indices: list[int | None], struct_type: Any) -> Any:
        """The export rows at ``indices`` (null for None) as one struct array.

        Taken batch by batch of the file: Arrow's take on a chunked array
        concatenates its chunks first, a copy of every row. Each batch is taken
        from a mapping of its own, so at most one batch's pages are resident."""
        import pyarrow as pa

        wanted: dict[int, list[tuple[int, int]]] = {}
        for pos, index in enumerate(indices):
            if index is not None:
                batch = bisect.bisect_right(self._starts, index) - 1
                wanted.setdefault(batch, []).append((pos, index - self._starts[batch]))
        taken: list[Any] = []
        slot: list[int | None] = [None] * len(indices)  # the output row's place in `taken`
        base = 0
        for batch, rows in wanted.items():
            with self._reader() as reader:  # the take copies: nothing mapped is kept
                taken.append(reader.get_batch(batch).to_struct_array()
                             .take(pa.array([local for _, local in rows], pa.int64()))
                             .cast(struct_type))
            for i, (pos, _) in enumerate(rows):
                slot[pos] = base + i
            base += len(rows)
        values = pa.concat_arrays(taken) if taken else pa.array([], struct_type)
        return values.take(pa.array(slot, pa.int64()))
