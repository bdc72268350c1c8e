"""A collection's articles as Arrow tables: the engine under every export.

Sidecar files are streamed (one gzip member at a time, by pyarrow's
decompressor), gathered into blocks of about :data:`BLOCK_BYTES` of JSON
lines, and parsed by pyarrow's JSON reader with an explicit schema: typed
columns straight from C++, no Python object per row. Derived columns (host,
lengths, timestamps) and the filters are Arrow compute kernels. This replaced
a row-per-dict path that spent most of its time building Python objects
(``benchmarks/export.py`` compares the two).

A block pyarrow's reader rejects (a sidecar with a field of an unexpected
type) is parsed line by line in Python instead, coercing what it can and
skipping (with a warning) what it cannot, so one odd sidecar never stops an
export. ``story_id`` comes from the catalog (see :mod:`newsarchive.index.stories`),
joined on the capture's WARC file and offset, one WARC's part at a time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import posixpath
from collections.abc import Callable, Iterator
from typing import Any

from newsarchive.collection import SIDECAR_SUFFIX, Collection, file_stem
from newsarchive.export.columns import FIELDS, export_schema
from newsarchive.export.filters import ExportFilter

logger = logging.getLogger(__name__)

BLOCK_BYTES = 8 << 20
_HOST = r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(?P<host>\[[^\]/]*\]|[^:/?#]*)"


def sidecar_types() -> Any:
    """The Arrow schema the sidecar JSON is parsed into (only what exports use)."""
    import pyarrow as pa

    s = pa.string()
    return pa.schema([
        ("url", s), ("canonical_url", s), ("title", s), ("authors", pa.list_(s)),
        ("publisher", s), ("published", s), ("modified", s), ("dateline", s),
        ("language", s), ("language_declared", s), ("is_article", pa.bool_()), ("text", s),
        ("fingerprint", s), ("rendered", pa.bool_()),
        ("ads", pa.list_(pa.struct([("text", s), ("position", pa.int64()), ("href", s)]))),
        ("related", pa.list_(pa.struct([("title", s), ("url", s), ("summary", s),
                                        ("section", s)]))),
        ("capture", pa.struct([("warc_filename", s), ("offset", pa.int64()),
                               ("length", pa.int64()), ("record_id", s),
                               ("payload_digest", s), ("fetched_at", s),
                               ("rendered", pa.bool_())])),
    ])  # fmt: skip


def iter_blocks(uri: str, block_bytes: int = BLOCK_BYTES, faults: list[str] | None = None
                ) -> Iterator[tuple[bytes, int]]:
    """``(lines, longest)``: whole JSON lines of a sidecar file, about ``block_bytes`` a block.

    Read with Arrow's gzip stream (fast); if the file turns out damaged, the
    rest of it is read member by member past the damage
    (:func:`~newsarchive.index.sidecars.iter_entries`), each fault logged and
    appended to ``faults``.
    """
    import pyarrow as pa

    from newsarchive.store import open_input

    emitted = 0
    try:
        with open_input(uri) as raw:
            stream = pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), "gzip")
            rest = b""
            while True:
                chunk = stream.read(block_bytes)
                if not chunk:
                    break
                data = rest + chunk
                cut = data.rfind(b"\n") + 1
                if not cut:
                    rest = data  # one line longer than a block: keep reading
                    continue
                rest = data[cut:]
                emitted += data.count(b"\n", 0, cut)
                yield data[:cut], _longest(data[:cut])
            if rest.strip():
                raise EOFError("last line has no newline (cut off?)")
    except (OSError, ValueError, EOFError) as exc:
        logger.info("%s: damaged (%s); reading it member by member", uri, exc)
        yield from _resynced_blocks(uri, emitted, block_bytes, faults)


def _resynced_blocks(uri: str, skip: int, block_bytes: int, faults: list[str] | None
                     ) -> Iterator[tuple[bytes, int]]:
    """The sidecars of a damaged file after the first ``skip``, as blocks of JSON lines."""
    from newsarchive.index.sidecars import iter_entries

    lines: list[bytes] = []
    size = 0
    for n, entry in enumerate(iter_entries(uri, faults)):
        if n < skip:
            continue
        line = json.dumps(entry.sidecar, ensure_ascii=False).encode("utf-8") + b"\n"
        lines.append(line)
        size += len(line)
        if size >= block_bytes:
            block = b"".join(lines)
            yield block, _longest(block)
            lines, size = [], 0
    if lines:
        block = b"".join(lines)
        yield block, _longest(block)


def _longest(block: bytes) -> int:
    longest, start = 0, 0
    while True:
        end = block.find(b"\n", start)
        if end < 0:
            return max(longest, len(block) - start)
        longest = max(longest, end - start)
        start = end + 1


def parse_block(block: bytes, longest: int, uri: str = "") -> Any:
    """The sidecars of a block of JSON lines as an Arrow table of :func:`sidecar_types`."""
    import io

    import pyarrow as pa
    import pyarrow.json as pj

    types = sidecar_types()
    try:
        return pj.read_json(
            io.BytesIO(block),
            # one thread per block: the export's worker threads parse blocks side by side
            read_options=pj.ReadOptions(use_threads=False,
                                        block_size=max(1 << 20, 2 * longest + 2)),
            parse_options=pj.ParseOptions(explicit_schema=types,
                                          unexpected_field_behavior="ignore"),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        logger.info("%s: pyarrow's JSON reader refused a block (%s); reading it line by line",
                    uri, str(exc)[:200])
        return _parse_lines(block, types, uri)


def _coerce(value: Any, typ: Any) -> Any:
    """``value`` made to fit ``typ`` where the intent is clear, else None."""
    import pyarrow as pa

    if value is None:
        return None
    if pa.types.is_string(typ):
        return value if isinstance(value, str) else (
            None if isinstance(value, dict | list) else str(value))
    if pa.types.is_boolean(typ):
        return value if isinstance(value, bool) else None
    if pa.types.is_integer(typ):
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if pa.types.is_list(typ):
        if not isinstance(value, list):
            return None
        return [_coerce(v, typ.value_type) for v in value]
    if pa.types.is_struct(typ):
        if not isinstance(value, dict):
            return None
        return {f.name: _coerce(value.get(f.name), f.type) for f in typ}
    return None


def _parse_lines(block: bytes, types: Any, uri: str) -> Any:
    import pyarrow as pa

    rows = []
    for n, line in enumerate(block.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            logger.warning("%s: bad sidecar line %d of a block: %s", uri, n, exc)
            continue
        if not isinstance(obj, dict):
            logger.warning("%s: sidecar line %d of a block is not an object", uri, n)
            continue
        rows.append({f.name: _coerce(obj.get(f.name), f.type) for f in types})
    return pa.Table.from_pylist(rows, schema=types)


def to_timestamps(arr: Any) -> Any:
    """ISO 8601 strings as ``timestamp[us, UTC]``; a date is its midnight UTC, a time
    without an offset is taken as UTC, anything unparsable is null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ts = pa.timestamp("us", tz="UTC")
    try:  # the common case: every value a full date-time with an offset
        return pc.cast(arr, ts)
    except pa.ArrowInvalid:
        pass
    arr = pc.utf8_trim_whitespace(arr)
    dated = pc.if_else(pc.match_substring_regex(arr, r"^\d{4}-\d{2}-\d{2}$"),
                       pc.binary_join_element_wise(arr, "T00:00:00Z", ""), arr)
    zoned = pc.if_else(pc.match_substring_regex(dated, r"(Z|z|[+-]\d{2}:?\d{2})$"),
                       dated, pc.binary_join_element_wise(dated, "Z", ""))
    try:
        return pc.cast(zoned, ts)
    except pa.ArrowInvalid:
        return pa.array([_parse_time(v) for v in zoned.to_pylist()], type=ts)


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def hosts(urls: Any) -> Any:
    """Lower-case host of each URL without ``www.`` (null when there is none)."""
    import pyarrow.compute as pc

    host = pc.struct_field(pc.extract_regex(urls, _HOST), "host")
    host = pc.replace_substring_regex(pc.utf8_lower(host), r"^www\.", "")
    host = pc.replace_substring_regex(host, r"^\[(.*)\]$", r"\1")
    return pc.if_else(pc.equal(host, ""), None, host)


# Bytes of UTF-8 whitespace as str.split sees it: ASCII ones, then multi-byte sequences.
_ASCII_SPACE = bytes([9, 10, 11, 12, 13, 28, 29, 30, 31, 32])
_WIDE_SPACE = ["\x85".encode(), "\xa0".encode(), "\u1680".encode(),
               *(chr(c).encode() for c in range(0x2000, 0x200B)), "\u2028".encode(),
               "\u2029".encode(), "\u202f".encode(), "\u205f".encode(), "\u3000".encode()]


def word_counts(text: Any) -> Any:
    """Words (runs of non-whitespace) in each text, as ``len(str.split())`` counts them.

    Counted over the UTF-8 bytes with numpy: word starts are non-space bytes after a
    space or a text's start. Arrow's split kernel builds a list of every word, and
    a Python ``split`` per row a string per word: both cost ten times as much.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pc.fill_null(text, "")
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    n = len(arr)
    if not n:
        return pa.array([], pa.int32())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2] or b"", dtype=np.uint8)[offsets[0]:offsets[-1]]
    rel = offsets - offsets[0]
    table = np.zeros(256, dtype=bool)
    table[list(_ASCII_SPACE)] = True
    is_space = table[data]
    if len(data) and data.max() >= 0xC2:  # only non-ASCII text can hold wide spaces
        for seq in _WIDE_SPACE:
            width = len(seq)
            if len(data) < width:
                continue
            hit = data[:len(data) - width + 1] == seq[0]
            for k in range(1, width):
                hit &= data[k:len(data) - width + 1 + k] == seq[k]
            at = np.flatnonzero(hit)
            for k in range(width):
                is_space[at + k] = True
    prev = np.empty_like(is_space)  # whether the byte before is a space (or a text's start)
    if len(prev):
        prev[0] = True
        prev[1:] = is_space[:-1]
        prev[rel[:-1][rel[:-1] < len(prev)]] = True
    words = np.flatnonzero(prev & ~is_space)  # where each word starts
    return pa.array(np.diff(np.searchsorted(words, rel)).astype(np.int32))


def articles_of(raw: Any, collection: str) -> Any:
    """Export columns (:data:`FIELDS`, ``story_id`` null) of parsed sidecars that are articles."""
    import pyarrow as pa
    import pyarrow.compute as pc

    raw = raw.filter(pc.invert(pc.fill_null(pc.equal(raw["is_article"], False), False)))
    cap = raw["capture"].combine_chunks() if raw.num_rows else None
    n = raw.num_rows

    def capf(name: str, typ: Any) -> Any:
        return pc.struct_field(cap, name) if cap is not None else pa.nulls(0, typ)

    text = pc.fill_null(raw["text"], "")
    types = export_schema(FIELDS)
    cols: dict[str, Any] = {
        "collection": pa.repeat(collection, n) if n else pa.nulls(0, pa.string()),
        "url": pc.fill_null(raw["url"], ""),
        "canonical_url": raw["canonical_url"],
        "host": hosts(raw["url"]),
        "title": raw["title"],
        "authors": raw["authors"],
        "publisher": raw["publisher"],
        "published": to_timestamps(raw["published"]),
        "modified": to_timestamps(raw["modified"]),
        "dateline": raw["dateline"],
        "language": raw["language"],
        "language_declared": raw["language_declared"],
        "text": text,
        "text_length": pc.cast(pc.utf8_length(text), pa.int32()),
        "word_count": word_counts(text),
        "fingerprint": raw["fingerprint"],
        "story_id": pa.nulls(n, pa.string()),
        "ads": raw["ads"],
        "related": raw["related"],
        "captured": to_timestamps(capf("fetched_at", pa.string())),
        "warc_filename": capf("warc_filename", pa.string()),
        "warc_offset": capf("offset", pa.int64()),
        "warc_length": capf("length", pa.int64()),
        "record_id": capf("record_id", pa.string()),
        "payload_digest": capf("payload_digest", pa.string()),
        "rendered": pc.or_kleene(pc.fill_null(raw["rendered"], False),
                                 pc.fill_null(capf("rendered", pa.bool_()), False)),
    }
    arrays = [pc.cast(cols[f], types.field(f).type) for f in FIELDS]
    return pa.Table.from_arrays(arrays, schema=types)


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


def _keys(files: Any, offsets: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    out = pc.binary_join_element_wise(pc.cast(files, pa.string()),
                                      pc.cast(offsets, pa.string()), ":")
    return out.combine_chunks() if hasattr(out, "combine_chunks") else out


def _open_parquet(uri: str) -> Any:
    """A seekable file object of a (small) catalog part, local or in S3."""
    import io

    from newsarchive.store import is_remote, open_input

    if not is_remote(uri):
        return open(uri, "rb")
    with open_input(uri) as fh:
        return io.BytesIO(fh.read())


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


def _blocks(coll: Collection, progress: Progress | None) -> Iterator[tuple[str, str, bytes, int]]:
    """``(file, WARC stem, lines, longest line)`` of every block of every sidecar file."""
    for uri in coll.sidecar_files():
        stem = posixpath.basename(uri).removesuffix(SIDECAR_SUFFIX)
        if progress is not None:
            progress.files += 1
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
    *, story_ids: bool = True,
) -> Iterator[Any]:
    """Arrow tables (export columns, :data:`FIELDS`) of the articles of ``coll``
    that pass ``flt``, in file order, a block at a time.

    A reader thread decompresses, :data:`WORKERS` threads parse and compute,
    the caller's thread joins story ids and writes: the stages overlap.
    """
    flt = flt or ExportFilter()
    ids = StoryIds(coll) if story_ids else None
    cache: dict[str, Any] = {}

    def work(item: tuple[str, str, bytes, int]) -> tuple[str, int, Any]:
        uri, stem, block, longest = item
        table = articles_of(parse_block(block, longest, uri), coll.name)
        read = table.num_rows
        return stem, read, table.filter(flt.mask(table)) if flt.active else table

    for stem, read, table in ordered_map(work, prefetch(_blocks(coll, progress)), WORKERS):
        if progress is not None:
            progress.add(read)
        if ids is not None:
            table = ids.attach(table, stem, cache)
        if table.num_rows:
            yield table
