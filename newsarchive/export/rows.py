"""Export rows: one flat, typed record per article, read from sidecar files.

Rows are built while the sidecar files are streamed line by line (one gzip
member at a time), so an export holds one article in memory whatever the
collection's size. :data:`FIELDS` is the full list, in output order.
"""

from __future__ import annotations

import datetime as dt
import logging
import posixpath
from collections.abc import Callable, Iterator
from typing import Any

from newsarchive.export.filters import ExportFilter
from newsarchive.index.catalog import host_of
from newsarchive.index.collection import Collection
from newsarchive.index.sidecars import iter_sidecars

logger = logging.getLogger(__name__)

#: every exportable field, in output order (``also_at`` only with --dedupe-stories)
FIELDS = (
    "collection", "url", "canonical_url", "host", "title", "authors", "publisher",
    "published", "modified", "dateline", "language", "text", "text_length", "word_count",
    "fingerprint", "ads", "related", "captured", "warc_filename", "warc_offset",
    "warc_length", "record_id", "payload_digest", "rendered", "also_at",
)  # fmt: skip


def parse_time(value: Any) -> dt.datetime | None:
    """A WARC-Date style ISO string as an aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def article_row(sidecar: dict[str, Any], collection: str) -> dict[str, Any]:
    """The export row of one sidecar."""
    cap = sidecar.get("capture") or {}
    text = sidecar.get("text") or ""
    url = sidecar.get("url") or ""
    return {
        "collection": collection,
        "url": url,
        "canonical_url": sidecar.get("canonical_url"),
        "host": host_of(url),
        "title": sidecar.get("title"),
        "authors": [str(a) for a in sidecar.get("authors") or []],
        "publisher": sidecar.get("publisher"),
        "published": sidecar.get("published"),
        "modified": sidecar.get("modified"),
        "dateline": sidecar.get("dateline"),
        "language": sidecar.get("language"),
        "text": text,
        "text_length": len(text),
        "word_count": len(text.split()),
        "fingerprint": sidecar.get("fingerprint"),
        "ads": [
            {"text": a.get("text"), "position": a.get("position"), "href": a.get("href")}
            for a in sidecar.get("ads") or []
        ],
        "related": [
            {k: r.get(k) for k in ("title", "url", "summary", "section")}
            for r in sidecar.get("related") or []
        ],
        "captured": parse_time(cap.get("fetched_at")),
        "warc_filename": cap.get("warc_filename"),
        "warc_offset": cap.get("offset"),
        "warc_length": cap.get("length"),
        "record_id": cap.get("record_id"),
        "payload_digest": cap.get("payload_digest"),
        "rendered": bool(sidecar.get("rendered") or cap.get("rendered")),
    }


class Progress:
    """Counts rows read and kept; the CLI prints them on stderr."""

    def __init__(self, report: Callable[[Progress], None] | None = None) -> None:
        self.read = 0
        self.kept = 0
        self.files = 0
        self.report = report
        self.faults: list[str] = []  # damaged sidecar members skipped, one line each

    def tick(self) -> None:
        """Called per row read; reports every 1,000 rows."""
        self.read += 1
        if self.report is not None and self.read % 1000 == 0:
            self.report(self)


def iter_matches(
    coll: Collection, flt: ExportFilter, progress: Progress | None = None
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(sidecar, row)`` of every article of ``coll`` that passes ``flt``, in file order."""
    for uri in coll.sidecar_files():
        if progress is not None:
            progress.files += 1
        logger.debug("reading %s", posixpath.basename(uri))
        for sidecar in iter_sidecars(uri, progress.faults if progress is not None else None):
            if sidecar.get("is_article") is False:
                continue
            row = article_row(sidecar, coll.name)
            if progress is not None:
                progress.tick()
            if flt.matches(row):
                yield sidecar, row


def iter_articles(
    coll: Collection, flt: ExportFilter, progress: Progress | None = None
) -> Iterator[dict[str, Any]]:
    """Rows of every article of ``coll`` that passes ``flt``, in file order."""
    for _sidecar, row in iter_matches(coll, flt, progress):
        yield row
