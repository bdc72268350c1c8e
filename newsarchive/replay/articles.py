"""The lookup table of a collection's articles, for the article list and the sidecar pages.

Built once when replay starts, by streaming the sidecar files, into an SQLite
file in the replay work folder: URL, capture time, title, publisher, authors,
publication date, where the response record lies and where the sidecar lies,
plus an FTS5 full-text index of title, text, publisher and authors, so the
list page searches words in milliseconds. The sidecar itself is read on demand
with one ranged read. Screenshots (``--screenshots``: resource records named
``urn:newsarchive:screenshot:URL``) are found in the CDXJ indexes and kept in
their own table, so the list can show a thumbnail.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsarchive.collection import Collection

logger = logging.getLogger(__name__)

#: URI schemes of screenshot resource records: ours, and the older name
SCREENSHOT_SCHEMES = ("urn:newsarchive:screenshot:", "urn:view:")

_COLUMNS = (
    "url", "ts", "title", "warc_filename", "warc_offset", "warc_length",
    "sidecar_uri", "sidecar_offset", "sidecar_length", "publisher", "authors", "published",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM article"

SORTS = {
    "published-desc": "date_key DESC, url",
    "published-asc": "date_key ASC, url",
    "captured-desc": "ts DESC, url",
    "captured-asc": "ts ASC, url",
    "title": "title COLLATE NOCASE, url",
}


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
    publisher: str | None = None
    authors: str | None = None  # comma-separated, for display
    published: str | None = None  # ISO 8601 as the sidecar gives it


@dataclass(frozen=True)
class Screenshot:
    """Where a page's screenshot record lies."""

    warc_filename: str
    offset: int
    length: int


def _stamp(value: Any) -> str:
    return "".join(ch for ch in str(value or "") if ch.isdigit())[:14]


def _rows(coll: Collection) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(table row, searchable text) of every article sidecar of ``coll``."""
    from newsarchive.index.sidecars import iter_entries

    for uri in coll.sidecar_files():
        for entry in iter_entries(uri):
            sc, cap = entry.sidecar, entry.sidecar.get("capture") or {}
            if sc.get("is_article") is False or not cap.get("warc_filename"):
                continue
            authors = ", ".join(str(a) for a in sc.get("authors") or [])
            row = (sc.get("url"), _stamp(cap.get("fetched_at")), sc.get("title"),
                   cap["warc_filename"], cap.get("offset"), cap.get("length"), uri,
                   entry.offset, entry.length, sc.get("publisher"), authors or None,
                   sc.get("published"))
            yield row, str(sc.get("text") or "")


def date_key(published: Any, ts: str) -> str:
    """14 digits to sort by: the publication date-time (UTC as written), else the capture's."""
    digits = _stamp(published)
    return digits.ljust(14, "0") if len(digits) >= 8 else ts


def _screenshots(index_files: Iterable[str]) -> Iterator[tuple[Any, ...]]:
    from newsarchive.index.cdxj import iter_index

    for uri in index_files:
        for line in iter_index(uri):
            for scheme in SCREENSHOT_SCHEMES:
                if line.url.startswith(scheme):
                    yield (line.url[len(scheme):], line.timestamp[:14], line.filename,
                           line.offset, line.length)


def build(coll: Collection, db_path: Path, index_files: Iterable[str] | None = None) -> int:
    """Write the lookup tables of ``coll`` to ``db_path``; return the article count.

    ``index_files``: the CDXJ files to find screenshots in (default: the collection's).
    """
    db = sqlite3.connect(db_path)
    count = 0
    try:
        db.execute(f"CREATE TABLE article (rowid INTEGER PRIMARY KEY, {', '.join(_COLUMNS)}, "
                   "date_key)")
        db.execute("CREATE VIRTUAL TABLE article_text USING fts5(title, body, publisher, "
                   "authors, content='', tokenize='unicode61 remove_diacritics 2')")
        marks = ", ".join("?" * (len(_COLUMNS) + 1))
        for row, text in _rows(coll):
            cur = db.execute(f"INSERT INTO article ({', '.join(_COLUMNS)}, date_key) "
                             f"VALUES ({marks})", (*row, date_key(row[11], row[1])))
            db.execute("INSERT INTO article_text (rowid, title, body, publisher, authors)"
                       " VALUES (?, ?, ?, ?, ?)", (cur.lastrowid, row[2], text, row[9], row[10]))
            count += 1
        db.execute("CREATE INDEX article_url ON article (url, ts)")
        db.execute("CREATE TABLE screenshot (url, ts, warc_filename, offset, length)")
        db.executemany("INSERT INTO screenshot VALUES (?, ?, ?, ?, ?)",
                       _screenshots(coll.index_files() if index_files is None else index_files))
        db.execute("CREATE INDEX screenshot_url ON screenshot (url, ts)")
        db.commit()
    finally:
        db.close()
    logger.info("replay: %d articles with sidecars in %s", count, coll.name)
    return count


_WORD = re.compile(r"\w+", re.UNICODE)


def match_query(text: str) -> str | None:
    """An FTS5 query matching every word of ``text`` (each a prefix), or None if none.

    Words are quoted, so what a user types is never FTS5 syntax.
    """
    words = _WORD.findall(text)
    return " ".join(f'"{w}"*' for w in words[:20]) or None


class ArticleIndex:
    """Read side of the tables (one connection per call: the server is concurrent)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[Article]:
        db = self._connect()
        try:
            return [Article(*row) for row in db.execute(sql, args)]
        finally:
            db.close()

    def find(self, url: str, ts: str | None = None) -> Article | None:
        """The capture of ``url`` closest to ``ts`` (the latest if no ``ts``)."""
        if ts:
            found = self._query(
                _SELECT + " WHERE url = ? "
                "ORDER BY abs(CAST(ts AS INTEGER) - CAST(? AS INTEGER)) LIMIT 1",
                (url, ts.ljust(14, "0")[:14]),
            )
        else:
            found = self._query(
                _SELECT + " WHERE url = ? ORDER BY ts DESC LIMIT 1", (url,)
            )
        return found[0] if found else None

    def search(self, query: str = "", sort: str = "published-desc", offset: int = 0,
               limit: int = 50) -> tuple[int, list[Article]]:
        """Articles matching every word of ``query`` (all when empty), sorted; and how many."""
        order = SORTS.get(sort, SORTS["published-desc"])
        match = match_query(query)
        where = ""
        args: tuple[Any, ...] = ()
        if match:
            where = "WHERE rowid IN (SELECT rowid FROM article_text WHERE article_text MATCH ?)"
            args = (match,)
        db = self._connect()
        try:
            total = int(db.execute(f"SELECT count(*) FROM article {where}", args).fetchone()[0])
        finally:
            db.close()
        rows = self._query(f"{_SELECT} {where} ORDER BY {order} LIMIT ? OFFSET ?",
                           (*args, limit, offset))
        return total, rows

    def count(self) -> int:
        """How many articles there are."""
        db = self._connect()
        try:
            return int(db.execute("SELECT count(*) FROM article").fetchone()[0])
        finally:
            db.close()

    def screenshot(self, url: str, ts: str | None = None) -> Screenshot | None:
        """The screenshot of ``url`` closest to ``ts`` (the latest if no ``ts``)."""
        db = self._connect()
        try:
            row = db.execute(
                "SELECT warc_filename, offset, length FROM screenshot WHERE url = ? ORDER BY "
                "abs(CAST(ts AS INTEGER) - CAST(? AS INTEGER)) LIMIT 1",
                (url, (ts or "99999999999999").ljust(14, "0")[:14]),
            ).fetchone()
        finally:
            db.close()
        return Screenshot(*row) if row else None

    def screenshot_urls(self, urls: list[str]) -> set[str]:
        """Which of ``urls`` have a screenshot."""
        if not urls:
            return set()
        db = self._connect()
        try:
            marks = ", ".join("?" * len(urls))
            return {r[0] for r in db.execute(
                f"SELECT DISTINCT url FROM screenshot WHERE url IN ({marks})", urls)}
        finally:
            db.close()
