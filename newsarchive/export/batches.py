"""A collection's articles as Arrow tables: the engine under every export.

A sidecar file whose export rows its catalog parts hold (the index stage
stored them, :mod:`newsarchive.index.stored`) is read from there, a slice of
rows at a time; any other is parsed by the Arrow sidecar reader
(:mod:`newsarchive.index.arrow_rows`: pyarrow's JSON reader, compute kernels,
no Python object per row), with ``story_id`` joined from the catalog
(:mod:`newsarchive.index.stories`) on the capture's WARC file and offset, one
WARC's part at a time. Filters are Arrow compute kernels. A reader thread,
worker threads and the caller's thread overlap (``benchmarks/export.py``
compares this with the earlier row-per-dict export).
"""

from __future__ import annotations

import logging
import os
import posixpath
from collections.abc import Callable, Iterator
from typing import Any

from newsarchive.collection import SIDECAR_SUFFIX, Collection, file_stem
from newsarchive.export.filters import ExportFilter
from newsarchive.index.arrow_rows import (  # noqa: F401 - this module's names before the move
    BLOCK_BYTES,
    _keys,
    _open_parquet,
    articles_of,
    hosts,
    iter_blocks,
    parse_block,
    sidecar_types,
    to_timestamps,
    word_counts,
)

logger = logging.getLogger(__name__)

class StoryIds:
    """``story_id`` of each capture, read from the catalog one WARC's parts at a time."""

    def __init__(self, coll: Collection) -> None:
        self.parts: dict[str, list[str]] = {}
        for uri in coll.catalog_files():
            stem = file_stem(posixpath.basename(uri))
            self.parts.setdefault(stem, []).append(uri)

    def lookup(self, stem: str) -> Any:
        """``(keys, story_ids)`` of one WARC's catalog rows, keys as ``file:offset``."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        keys, ids = [], []
        for uri in self.parts.get(stem, []):
            with _open_parquet(uri) as fh:
                names = pq.read_schema(fh).names
                if "story_id" not in names:
                    continue
                fh.seek(0)
                part = pq.read_table(fh, columns=["warc_filename", "warc_offset", "story_id"])
            part = part.filter(pc.is_valid(part["story_id"]))
            keys.append(_keys(part["warc_filename"], part["warc_offset"]))
            ids.append(part["story_id"].combine_chunks())
        if not keys:
            return pa.array([], pa.string()), pa.array([], pa.string())
        return pa.concat_arrays(keys), pa.concat_arrays(ids)

    def attach(self, table: Any, stem: str, cache: dict[str, Any]) -> Any:
        """``table`` with its ``story_id`` column filled from the catalog."""
        import pyarrow.compute as pc

        if stem not in self.parts or not table.num_rows:
            return table
        if stem not in cache:
            cache.clear()
            cache[stem] = self.lookup(stem)
        keys, ids = cache[stem]
        if not len(keys):
            return table
        found = pc.take(ids, pc.index_in(_keys(table["warc_filename"], table["warc_offset"]),
                                         value_set=keys))
        return table.set_column(table.schema.get_field_index("story_id"), "story_id", found)


class Progress:
    """Counts articles read and kept; the CLI prints them on stderr."""

    def __init__(self, report: Callable[[Progress], None] | None = None) -> None:
        self.read = 0
        self.kept = 0
        self.files = 0
        self.report = report
        self.faults: list[str] = []  # damaged sidecar members skipped, one line each
        self._shown = 0

    def add(self, read: int) -> None:
        """Count ``read`` more articles; report every 1,000."""
        self.read += read
        if self.report is not None and self.read - self._shown >= 1000:
            self._shown = self.read
            self.report(self)


#: rows per table handed on from a catalog part's stored export rows
STORED_ROWS = 2048


def _blocks(coll: Collection, progress: Progress | None, ids: StoryIds | None
            ) -> Iterator[tuple[str, str, Any, int]]:
    """``(file, WARC stem, lines, longest line)`` of every block of every sidecar file;
    where the catalog holds a file's export rows (:mod:`~newsarchive.index.stored`),
    ``(file, stem, table, -1)`` instead, a slice of those rows at a time."""
    from newsarchive.index.stored import export_slice, read_stored

    for uri in coll.sidecar_files():
        stem = posixpath.basename(uri).removesuffix(SIDECAR_SUFFIX)
        if progress is not None:
            progress.files += 1
        stored = read_stored(ids.parts.get(stem, []), uri) if ids is not None else None
        if stored is not None:
            logger.debug("reading %s's export rows from the catalog", posixpath.basename(uri))
            table, order = stored
            del stored  # slices are copies: only one WARC's rows are held at a time
            for start in range(0, len(order), STORED_ROWS):
                yield uri, stem, export_slice(table, order.slice(start, STORED_ROWS)), -1
            del table, order
            continue
        logger.debug("reading %s", posixpath.basename(uri))
        for block, longest in iter_blocks(uri, faults=progress.faults if progress else None):
            yield uri, stem, block, longest


def ordered_map(fn: Callable[[Any], Any], items: Iterator[Any], workers: int) -> Iterator[Any]:
    """``fn`` of each item, run by ``workers`` threads, yielded in the items' order.

    At most ``workers + 1`` items are in flight, so memory stays bounded.
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export") as pool:
        pending: deque[Any] = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) > workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def prefetch(items: Iterator[Any], depth: int = 1) -> Iterator[Any]:
    """``items``, produced by a thread up to ``depth`` ahead of the consumer.

    Decompression (C++, GIL released) then overlaps with the consumer's work.
    """
    import queue
    import threading

    done = object()
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put((None, item), timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((None, done))
        except BaseException as exc:  # handed to the consumer, raised there
            q.put((exc, None))

    worker = threading.Thread(target=produce, name="export-reader", daemon=True)
    worker.start()
    try:
        while True:
            exc, item = q.get()
            if exc is not None:
                raise exc
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                q.get(timeout=0.2)
            except queue.Empty:
                pass


#: threads that parse blocks and compute their columns (pyarrow and numpy release the GIL)
WORKERS = max(1, min(4, (os.cpu_count() or 1)))


def iter_tables(
    coll: Collection, flt: ExportFilter | None = None, progress: Progress | None = None,
    *, story_ids: bool = True, stored: bool = True,
) -> Iterator[Any]:
    """Arrow tables (export columns, :data:`FIELDS`) of the articles of ``coll``
    that pass ``flt``, in file order, a block at a time.

    A sidecar file whose export rows the catalog holds is read from there
    (:mod:`~newsarchive.index.stored`; ``stored=False`` parses every file).

    A reader thread decompresses, :data:`WORKERS` threads parse and compute,
    the caller's thread joins story ids and writes: the stages overlap.
    """
    flt = flt or ExportFilter()
    ids = StoryIds(coll) if story_ids else None
    cache: dict[str, Any] = {}

    def work(item: tuple[str, str, Any, int]) -> tuple[str, int, Any, bool]:
        uri, stem, block, longest = item
        if longest < 0:  # export rows from the catalog, story ids included
            import pyarrow as pa

            table = block.add_column(0, "collection", pa.repeat(coll.name, block.num_rows)
                                     if block.num_rows else pa.nulls(0, pa.string()))
            if ids is None:  # as the sidecar path gives them
                at = table.schema.get_field_index("story_id")
                table = table.set_column(at, "story_id", pa.nulls(table.num_rows, pa.string()))
        else:
            table = articles_of(parse_block(block, longest, uri), coll.name)
        read = table.num_rows
        return stem, read, table.filter(flt.mask(table)) if flt.active else table, longest < 0

    blocks = _blocks(coll, progress, (ids or StoryIds(coll)) if stored else None)
    for stem, read, table, from_catalog in ordered_map(work, prefetch(blocks), WORKERS):
        if progress is not None:
            progress.add(read)
        if ids is not None and not from_catalog:
            table = ids.attach(table, stem, cache)
        if table.num_rows:
            yield table
