"""A small lookup table of a collection's articles, for the sidecar pages.

Built once when replay starts (from the Parquet catalog when there is one,
else by streaming the sidecar files) into an SQLite file in the replay work
folder: URL, capture time, title, where the response record lies and where
the sidecar lies. The sidecar itself is read on demand with one ranged read.
"""

from __future__ import annotations

import logging
import posixpath
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsarchive.index.collection import Collection

logger = logging.getLogger(__name__)

_COLUMNS = (
    "url", "ts", "title", "warc_filename", "warc_offset", "warc_length",
    "sidecar_uri", "sidecar_offset", "sidecar_length",
)  # fmt: skip


@dataclass(frozen=True)
class Article:
    """One captured article: where its record and its sidecar are."""

    url: str
    ts: str  # 14 digits, UTC
    title: str | None
    warc_filename: str
    warc_offset: int
    warc_length: int
    sidecar_uri: str
    sidecar_offset: int
    sidecar_length: int


def _from_catalog(coll: Collection) -> list[tuple[Any, ...]]:
    from newsarchive.index.query import connect

    sidecars = {posixpath.basename(u): u for u in coll.sidecar_files()}
    con = connect([coll])
    rows = con.execute(
        "SELECT url, strftime(timestamp, '%Y%m%d%H%M%S'), title, warc_filename, warc_offset, "
        "warc_length, sidecar_file, sidecar_offset, sidecar_length FROM catalog "
        "WHERE is_article AND sidecar_file IS NOT NULL"
    ).fetchall()
    return [(*r[:6], sidecars.get(r[6], r[6]), *r[7:]) for r in rows if r[6] in sidecars]


def _from_sidecars(coll: Collection) -> list[tuple[Any, ...]]:
    from newsarchive.index.sidecars import iter_entries

    rows = []
    for uri in coll.sidecar_files():
        for entry in iter_entries(uri):
            sc, cap = entry.sidecar, entry.sidecar.get("capture") or {}
            if sc.get("is_article") is False or not cap.get("warc_filename"):
                continue
            stamp = "".join(ch for ch in str(cap.get("fetched_at", "")) if ch.isdigit())[:14]
            rows.append((sc.get("url"), stamp, sc.get("title"), cap["warc_filename"],
                         cap.get("offset"), cap.get("length"), uri, entry.offset, entry.length))
    return rows


def build(coll: Collection, db_path: Path) -> int:
    """Write the lookup table of ``coll`` to ``db_path``; return the article count."""
    rows = _from_catalog(coll) if coll.catalog_files() else _from_sidecars(coll)
    db = sqlite3.connect(db_path)
    try:
        db.execute(f"CREATE TABLE article ({', '.join(_COLUMNS)})")
        db.executemany(f"INSERT INTO article VALUES ({', '.join('?' * len(_COLUMNS))})", rows)
        db.execute("CREATE INDEX article_url ON article (url, ts)")
        db.commit()
    finally:
        db.close()
    logger.info("replay: %d articles with sidecars in %s", len(rows), coll.name)
    return len(rows)


class ArticleIndex:
    """Read side of the table (one connection per call: the server is concurrent)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[Article]:
        db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        try:
            return [Article(*row) for row in db.execute(sql, args).fetchall()]
        finally:
            db.close()

    def find(self, url: str, ts: str | None = None) -> Article | None:
        """The capture of ``url`` closest to ``ts`` (the latest if no ``ts``)."""
        if ts:
            found = self._query(
                "SELECT * FROM article WHERE url = ? "
                "ORDER BY abs(CAST(ts AS INTEGER) - CAST(? AS INTEGER)) LIMIT 1",
                (url, ts.ljust(14, "0")[:14]),
            )
        else:
            found = self._query(
                "SELECT * FROM article WHERE url = ? ORDER BY ts DESC LIMIT 1", (url,)
            )
        return found[0] if found else None

    def page(self, offset: int = 0, limit: int = 200) -> list[Article]:
        """Articles in URL order, for the list page."""
        return self._query(
            "SELECT * FROM article ORDER BY url, ts LIMIT ? OFFSET ?", (limit, offset)
        )

    def count(self) -> int:
        """How many articles there are."""
        db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        try:
            return int(db.execute("SELECT count(*) FROM article").fetchone()[0])
        finally:
            db.close()
