"""The columnar catalog: one Parquet row per capture, CDXJ fields joined with sidecar fields.

Layout (hive partitions, so DuckDB, Spark and Athena prune by folder)::

    catalog/collection=NAME/date=YYYY-MM-DD/part-WARCSTEM.parquet

One part per WARC file and capture date, named after the WARC, so rebuilding
a WARC's part replaces it instead of adding a duplicate. A row is a capture
from the CDXJ index (URL, time, status, mime, digest, WARC file/offset/length);
when the page has a sidecar (matched on WARC file and offset) the row also gets
the article fields and where the sidecar lies in its file; ``is_article`` says
which rows are articles. An article's row also holds its whole export row
(text included) in the struct column ``article``, which export reads instead
of the sidecar file (:mod:`newsarchive.index.stored`); queries that leave it
out never read it (Parquet is columnar). ``story_id`` groups the
versions of one story across captures and sites (:mod:`newsarchive.index.stories`);
dates are timestamps (UTC).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import posixpath
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from newsarchive.collection import catalog_part_name
from newsarchive.index.cdxj import CdxjLine, iter_index
from newsarchive.index.sidecars import SidecarEntry, iter_entries
from newsarchive.index.spill import PartSpill
from newsarchive.index.stories import StoryIndex
from newsarchive.memory import release_memory

logger = logging.getLogger(__name__)

#: catalog rows gathered (as Python dicts, then with their articles' export rows)
#: before they are written; 10,000 held ~60 MB more than 2,000 at the build's peak
#: (issue #19), for a few more row groups in a large part
BATCH_ROWS = 2_000


def schema() -> Any:
    """The catalog's Arrow schema (partition columns excluded: they are folders)."""
    import pyarrow as pa

    from newsarchive.index.stored import article_type

    return pa.schema(
        [
            ("url", pa.string()),
            ("urlkey", pa.string()),
            ("host", pa.string()),
            ("timestamp", pa.timestamp("s", tz="UTC")),
            ("status", pa.int16()),
            ("mime", pa.string()),
            ("digest", pa.string()),
            ("record_type", pa.string()),
            ("warc_filename", pa.string()),
            ("warc_offset", pa.int64()),
            ("warc_length", pa.int64()),
            ("is_article", pa.bool_()),
            ("title", pa.string()),
            ("authors", pa.list_(pa.string())),
            ("publisher", pa.string()),
            ("published", pa.timestamp("us", tz="UTC")),
            ("published_date", pa.date32()),
            ("language", pa.string()),
            ("language_declared", pa.string()),
            ("canonical_url", pa.string()),
            ("text_length", pa.int32()),
            ("word_count", pa.int32()),
            ("fingerprint", pa.string()),
            ("story_id", pa.string()),
            ("ads_count", pa.int16()),
            ("related_count", pa.int16()),
            ("rendered", pa.bool_()),
            ("sidecar_file", pa.string()),
            ("sidecar_offset", pa.int64()),
            ("sidecar_length", pa.int64()),
            ("article", article_type()),
        ]
    )


def parse_date(value: Any) -> dt.date | None:
    """The date part of an ISO 8601 date or date-time, or None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_timestamp(value: Any) -> dt.datetime | None:
    """An ISO 8601 date or date-time as an aware UTC datetime (a date is its midnight,
    a time without an offset is taken as UTC), or None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def host_of(url: str) -> str | None:
    """Lower-case host of ``url`` without a ``www.`` prefix."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.") or None


def sidecar_fields(sc: dict[str, Any]) -> dict[str, Any]:
    """The article columns of one sidecar."""
    text = sc.get("text") or ""
    return {
        "is_article": sc.get("is_article", True) is not False,
        "title": sc.get("title"),
        "authors": [str(a) for a in sc.get("authors") or []],
        "publisher": sc.get("publisher"),
        "published": parse_timestamp(sc.get("published")),
        "published_date": parse_date(sc.get("published")),
        "language": sc.get("language"),
        "language_declared": sc.get("language_declared"),
        "canonical_url": sc.get("canonical_url"),
        "text_length": sc.get("text_length", len(text)),
        "word_count": sc.get("word_count", len(text.split())),
        "fingerprint": sc.get("fingerprint"),
        "story_id": sc.get("story_id"),
        "ads_count": len(sc.get("ads") or []),
        "related_count": len(sc.get("related") or []),
        "rendered": bool(sc.get("rendered") or (sc.get("capture") or {}).get("rendered")),
    }


_EMPTY_ARTICLE = {name: None for name in sidecar_fields({})} | {"is_article": False}


def capture_row(
    line: CdxjLine, entry: SidecarEntry | None = None, sidecar_file: str | None = None
) -> dict[str, Any]:
    """The catalog row of one capture (with its sidecar, if it has one)."""
    ts = dt.datetime.strptime(line.timestamp[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    row: dict[str, Any] = {
        "url": line.url,
        "urlkey": line.urlkey,
        "host": host_of(line.url),
        "timestamp": ts,
        "status": line.status,
        "mime": line.mime,
        "digest": line.digest,
        "record_type": "revisit" if line.is_revisit else "response",
        "warc_filename": line.filename,
        "warc_offset": line.offset,
        "warc_length": line.length,
    }
    if entry is None:
        row.update(_EMPTY_ARTICLE)
        row.update(sidecar_file=None, sidecar_offset=None, sidecar_length=None)
    else:
        row.update(sidecar_fields(entry.sidecar))
        row.update(
            sidecar_file=posixpath.basename(sidecar_file or ""),
            sidecar_offset=entry.offset,
            sidecar_length=entry.length,
        )
    return row


def iter_rows(index_uri: str, sidecar_uri: str | None, by_location: PartSpill
              ) -> Iterator[dict[str, Any]]:
    """Catalog rows of one WARC: its CDXJ lines joined with its sidecars
    (``by_location``: filled by :func:`sidecar_entries`)."""
    for line in iter_index(index_uri):
        joined = by_location.get((line.filename, line.offset))
        yield capture_row(line, joined, sidecar_uri if joined else None)


def sidecar_entries(sidecar_uri: str | None, stories: StoryIndex | None, into: PartSpill) -> None:
    """Keep the sidecars of one WARC ``into`` a build's spill, keyed by (WARC file,
    record offset) and reduced to their catalog fields (:mod:`newsarchive.index.spill`:
    a WARC's worth does not fit a flat memory).

    With ``stories``, every article gets its ``story_id`` (from its text).
    """
    if sidecar_uri is None:
        return
    for entry in iter_entries(sidecar_uri):
        cap = entry.sidecar.get("capture") or {}
        if cap.get("warc_filename") is not None and cap.get("offset") is not None:
            fields = entry.sidecar
            text = fields.get("text") or ""
            if stories is not None and fields.get("is_article", True) is not False:
                fields["story_id"] = stories.assign(str(cap.get("record_id") or
                                                        f"{cap['warc_filename']}:{cap['offset']}"),
                                                    text)
            fields["text_length"], fields["word_count"] = len(text), len(text.split())
            slim = SidecarEntry(_catalog_fields(fields), entry.offset, entry.length)
            into.put((cap["warc_filename"], int(cap["offset"])), slim)


def _catalog_fields(sidecar: dict[str, Any]) -> dict[str, Any]:
    """What :func:`sidecar_fields` reads of a sidecar, lists it only counts cut to their length."""
    slim = {k: sidecar[k] for k in _FIELD_KEYS if k in sidecar}
    for counted in ("ads", "related"):
        if sidecar.get(counted):
            slim[counted] = [None] * len(sidecar[counted])
    if (sidecar.get("capture") or {}).get("rendered"):
        slim["capture"] = {"rendered": True}
    return slim


_FIELD_KEYS = ("is_article", "title", "authors", "publisher", "published", "language",
               "language_declared", "canonical_url", "text_length", "word_count",
               "fingerprint", "story_id", "rendered")


part_name = catalog_part_name


def write_parts(
    rows: Iterable[dict[str, Any]], catalog_root: Path, collection: str, warc_name: str,
    articles: tuple[Any, dict[str, Any]] | None = None,
) -> list[Path]:
    """Write rows into ``collection=NAME/date=D/part-WARC.parquet`` files, in batches.

    ``articles`` (:func:`newsarchive.index.stored.article_rows`) fills the
    ``article`` column and says so in each part's metadata. Each part is
    written under a temporary name and renamed when complete.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from newsarchive.index.stored import attach, part_metadata

    sch = schema()
    if articles is not None:
        sch = sch.with_metadata(part_metadata(articles[1]))
    writers: dict[dt.date, tuple[Any, Path, Path]] = {}
    pending: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)

    def flush(day: dt.date) -> None:
        batch = pending.pop(day, [])
        if not batch:
            return
        if day not in writers:
            folder = catalog_root / f"collection={collection}" / f"date={day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            final = folder / part_name(warc_name)
            tmp = final.with_name(final.name + ".tmp")
            writers[day] = (pq.ParquetWriter(tmp, sch, compression="zstd"), tmp, final)
        table = pa.Table.from_pylist(batch, schema=sch)
        writers[day][0].write_table(attach(table, articles[0]) if articles else table)
        del table
        # a piece's copies (rows, articles taken, the row group's pages) went back to the pool
        # but stayed resident for the next ones: write phase at 20k captures +98 -> +73 MB
        pa.default_memory_pool().release_unused()

    try:
        for row in rows:
            day = row["timestamp"].date()
            pending[day].append(row)
            if len(pending[day]) >= BATCH_ROWS:
                flush(day)
        for day in list(pending):
            flush(day)
    except BaseException:
        for writer, tmp, _final in writers.values():
            writer.close()
            tmp.unlink(missing_ok=True)
        raise
    written = []
    for writer, tmp, final in writers.values():
        writer.close()
        os.replace(tmp, final)
        written.append(final)
    return written


def remove_parts(catalog_root: Path, warc_name: str) -> None:
    """Delete a WARC's existing parts (before rebuilding them).

    Under any ``collection=`` folder of this catalog, not just the one about to
    be written: a crawl with ``--store`` names its partition after the store, a
    rebuild of the spool folder after the folder, and no capture may count twice.
    """
    if catalog_root.is_dir():
        for old in catalog_root.glob(f"collection=*/date=*/{part_name(warc_name)}"):
            old.unlink()


def build_part(
    index_uri: str,
    sidecar_uri: str | None,
    catalog_root: Path,
    collection: str,
    warc_name: str,
    stories: StoryIndex | None = None,
) -> list[Path]:
    """(Re)build the catalog parts of one WARC from its index and sidecar file.

    Its sidecars are kept on disk meanwhile (:class:`~newsarchive.index.spill.PartSpill`,
    beside ``catalog_root``), so the memory it takes does not grow with the WARC.

    ``stories`` assigns each article its ``story_id``; without it the column is null.
    """
    from newsarchive.index.stored import article_rows, in_file_order

    remove_parts(catalog_root, warc_name)
    with PartSpill(catalog_root) as spill:
        info = article_rows(sidecar_uri, spill) if sidecar_uri is not None else None
        # the parsed blocks of JSON (8 MB each) are freed, but the allocators kept ~60-100 MB
        # of them resident, under the peak of writing the rows (issue #19)
        release_memory()
        sidecar_entries(sidecar_uri, stories, into=spill)
        if info is not None:
            info["ordered"] = in_file_order(spill.article_keys(), spill.member_offset)
        rows = iter_rows(index_uri, sidecar_uri, spill)
        written = write_parts(rows, catalog_root, collection, warc_name,
                              (spill, info) if info is not None else None)
    if stories is not None:
        stories.commit()
    release_memory()  # what the build freed goes back before the next step (newsarchive.memory)
    logger.info("catalog: %s -> %d part(s)", warc_name, len(written))
    return written
