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
offset, the export rows in an Arrow IPC file that is memory-mapped only while
one batch of rows takes its articles from it (unmapped after, so its pages
do not stay resident). Memory is then bounded by a batch, not by the WARC.
The folder and its files have hidden names: a scan for a collection's
finished files (``upload DIR``) never takes them for catalog parts.
"""

from __future__ import annotations

import bisect
import pickle
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable
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
        self._batch_starts: list[int] | None = None

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
        self._writer.write_table(table)
        first = self.article_count
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

    def article_keys(self) -> Iterable[tuple[str | None, int | None]]:
        """(WARC file, offset) of every export row, in file order."""
        import pyarrow as pa

        with pa.memory_map(str(self.articles)) as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)
                yield from zip(batch["warc_filename"].to_pylist(),
                               batch["warc_offset"].to_pylist(), strict=True)

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
        concatenates its chunks first, a copy of every row. The file is mapped
        only meanwhile, so the pages read leave the resident set after."""
        import pyarrow as pa

        wanted: dict[int, list[tuple[int, int]]] = {}
        for pos, index in enumerate(indices):
            if index is not None:
                batch = bisect.bisect_right(self._starts(), index) - 1
                wanted.setdefault(batch, []).append((pos, index - self._starts()[batch]))
        taken: list[Any] = []
        slot: list[int | None] = [None] * len(indices)  # the output row's place in `taken`
        base = 0
        with pa.memory_map(str(self.articles)) as source:
            reader = pa.ipc.open_file(source)
            for batch, rows in wanted.items():
                taken.append(reader.get_batch(batch).to_struct_array()
                             .take(pa.array([local for _, local in rows], pa.int64()))
                             .cast(struct_type))
                for i, (pos, _) in enumerate(rows):
                    slot[pos] = base + i
                base += len(rows)
        values = pa.concat_arrays(taken) if taken else pa.array([], struct_type)
        return values.take(pa.array(slot, pa.int64()))

    def _starts(self) -> list[int]:
        """The first row of each record batch of the finished file."""
        if self._batch_starts is None:
            import pyarrow as pa

            starts, at = [], 0
            with pa.memory_map(str(self.articles)) as source:
                reader = pa.ipc.open_file(source)
                for i in range(reader.num_record_batches):
                    starts.append(at)
                    at += reader.get_batch(i).num_rows
            self._batch_starts = starts
        return self._batch_starts
