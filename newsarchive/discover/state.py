"""The crawl state of a collection: what was fetched, when, and what it held.

``DIR/state/crawl.sqlite`` remembers each canonical URL (see
:mod:`newsarchive.discover.canonical`): its kind, when it was first seen and
last fetched, the last status, the payload digest (the WARC's
``WARC-Payload-Digest``, so a change is a changed record), when it last
changed, and the ``lastmod``/publication date a sitemap or feed announced.
Aliases map a fetched URL to the canonical URL its page declared.

It lives beside the WARC files and survives between runs; the next crawl of
the collection reads it to skip what is known and not due (see
:mod:`newsarchive.discover.revisit`). Writes are batched in one transaction
committed every :attr:`CrawlState.commit_every` changes and on close, in WAL
mode, so a killed crawl loses at most a batch -- and a lost row only means a
page is fetched once more, never that one is missed. A row must never be
durable before the record it describes, or a kill would leave a page "known"
that is not archived: the crawl sets :attr:`CrawlState.before_commit` to wait
for the WARC writer to flush what it has queued.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from newsarchive.discover.revisit import UrlRecord
from newsarchive.exceptions import StorageError

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS urls (
    url TEXT PRIMARY KEY,          -- canonical URL
    kind TEXT NOT NULL,            -- article, page, front, feed, sitemap, robots, embed
    first_seen REAL NOT NULL,      -- Unix seconds
    last_fetched REAL,
    last_status INTEGER,
    digest TEXT,                   -- WARC-Payload-Digest of the last fetch (sha1:BASE32)
    last_changed REAL,             -- when the digest last changed
    lastmod TEXT,                  -- sitemap <lastmod> as announced
    published TEXT,                -- publication date from a news sitemap or feed
    fetches INTEGER NOT NULL DEFAULT 0,
    fetched_url TEXT,              -- the URL last fetched for it (may carry a query)
    etag TEXT,                     -- the ETag of the last 200 answer, for If-None-Match
    last_modified TEXT             -- its Last-Modified, for If-Modified-Since
);
CREATE TABLE IF NOT EXISTS sitemaps_read (
    url TEXT PRIMARY KEY,          -- canonical URL of a child sitemap of an index
    lastmod TEXT NOT NULL,         -- the index's <lastmod> for it when it was read
    read_at REAL NOT NULL          -- end of the run that read it whole (Unix seconds)
);
CREATE TABLE IF NOT EXISTS aliases (
    alias TEXT PRIMARY KEY,        -- a canonical form of a fetched URL
    url TEXT NOT NULL              -- the canonical URL its page declared
);
"""
COLUMNS = (
    "url, kind, first_seen, last_fetched, last_status, digest, last_changed, "
    "lastmod, published, fetches, etag, last_modified"
)
#: columns added after the first release: (name, type), added to older databases on open
ADDED_COLUMNS = (("etag", "TEXT"), ("last_modified", "TEXT"))


def open_db(path: Path, schema: str, what: str) -> sqlite3.Connection:
    """A SQLite database in WAL mode with ``schema`` applied; a :class:`StorageError` if not.

    WAL lets ``newsarchive runs`` (or a curious ``sqlite3``) read while a crawl writes.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(schema)
    except (OSError, sqlite3.Error) as exc:
        raise StorageError(f"cannot open the {what} {path}: {exc}") from exc
    return db


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    # SQLite caps the parameters of one statement (999 in older builds).
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass(frozen=True)
class FetchResult:
    """How recording a fetch changed the state: new URL, changed content, or neither."""

    new: bool
    changed: bool


class CrawlState:
    """The SQLite crawl state of one collection."""

    commit_every = 200

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db = open_db(self.path, SCHEMA, "crawl state")
        have = {row[1] for row in self.db.execute("PRAGMA table_info(urls)")}
        for name, kind in ADDED_COLUMNS:
            if name not in have:  # a collection crawled by an older version
                self.db.execute(f"ALTER TABLE urls ADD COLUMN {name} {kind}")
        self._pending = 0
        self.before_commit: Callable[[], None] | None = None

    # -- reading -------------------------------------------------------------------
    def resolve(self, url: str) -> str:
        """The canonical URL ``url`` is an alias of, or ``url`` itself."""
        row = self.db.execute("SELECT url FROM aliases WHERE alias = ?", (url,)).fetchone()
        return str(row[0]) if row else url

    def get(self, url: str) -> UrlRecord | None:
        """What is known of canonical ``url``."""
        row = self.db.execute(f"SELECT {COLUMNS} FROM urls WHERE url = ?", (url,)).fetchone()
        return UrlRecord(*row) if row else None

    def resolve_many(self, urls: Sequence[str]) -> dict[str, str]:
        """The aliases among ``urls``, each with the canonical URL it stands for."""
        found: dict[str, str] = {}
        for chunk in _chunks(urls):
            marks = ",".join("?" * len(chunk))
            found.update(self.db.execute(
                f"SELECT alias, url FROM aliases WHERE alias IN ({marks})", chunk).fetchall())
        return found

    def get_many(self, urls: Sequence[str]) -> dict[str, UrlRecord]:
        """What is known of each of ``urls`` (canonical), by URL: one query per 500."""
        found: dict[str, UrlRecord] = {}
        for chunk in _chunks(urls):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                    f"SELECT {COLUMNS} FROM urls WHERE url IN ({marks})", chunk):
                found[row[0]] = UrlRecord(*row)
        return found

    def sitemap_read(self, url: str) -> str | None:
        """The index ``<lastmod>`` child sitemap ``url`` had when a finished run read it
        whole and queued every page it listed (:meth:`settle_sitemaps`), or ``None``."""
        row = self.db.execute("SELECT lastmod FROM sitemaps_read WHERE url = ?",
                              (url,)).fetchone()
        return str(row[0]) if row else None

    def __iter__(self) -> Iterator[UrlRecord]:
        for row in self.db.execute(f"SELECT {COLUMNS} FROM urls ORDER BY url"):
            yield UrlRecord(*row)

    def __len__(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM urls").fetchone()[0])

    # -- writing -------------------------------------------------------------------
    def record_fetch(
        self,
        url: str,
        *,
        kind: str,
        now: float,
        status: int,
        digest: str | None,
        fetched_url: str | None = None,
        lastmod: str | None = None,
        published: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """Remember a fetch of canonical ``url``; say whether it was new or changed.

        A ``304`` (``digest`` None) changes nothing of what the page held and
        keeps the validators unless it sent new ones; any other answer's
        validators replace the old (none if it sent none).
        """
        old = self.get(url)
        changed = old is not None and digest is not None and old.digest != digest
        if old is None:
            self.db.execute(
                "INSERT INTO urls (url, kind, first_seen, last_fetched, last_status, digest,"
                " last_changed, lastmod, published, fetches, fetched_url, etag, last_modified)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                (url, kind, now, now, status, digest, now, lastmod, published, fetched_url,
                 etag, last_modified),
            )
        else:
            keep = status == 304
            self.db.execute(
                "UPDATE urls SET kind = ?, last_fetched = ?, last_status = ?,"
                " digest = coalesce(?, digest), last_changed = ?,"
                " lastmod = coalesce(?, lastmod), published = coalesce(published, ?),"
                " fetches = fetches + 1, fetched_url = ?,"
                f" etag = {'coalesce(?, etag)' if keep else '?'},"
                f" last_modified = {'coalesce(?, last_modified)' if keep else '?'}"
                " WHERE url = ?",
                (
                    kind,
                    now,
                    status,
                    digest,
                    now if changed else old.last_changed,
                    lastmod,
                    published,
                    fetched_url,
                    etag,
                    last_modified,
                    url,
                ),
            )
        self._touch()
        return FetchResult(new=old is None, changed=changed)

    def set_kind(self, url: str, kind: str) -> None:
        """Correct the kind of canonical ``url`` (a page found by a link turned out an article)."""
        self.db.execute("UPDATE urls SET kind = ? WHERE url = ?", (kind, url))
        self._touch()

    def add_alias(self, alias: str, url: str) -> None:
        """Record that the page fetched as ``alias`` declares itself ``url``.

        The canonical URL inherits the alias's fetch record, so a later link
        to either is recognised.
        """
        if alias == url:
            return
        self.db.execute("INSERT OR REPLACE INTO aliases (alias, url) VALUES (?, ?)", (alias, url))
        record = self.get(alias)
        if record is not None:
            self.db.execute(
                "INSERT OR REPLACE INTO urls (url, kind, first_seen, last_fetched, last_status,"
                " digest, last_changed, lastmod, published, fetches, fetched_url, etag,"
                " last_modified)"
                " SELECT ?, kind, min(first_seen, coalesce((SELECT first_seen FROM urls"
                " WHERE url = ?), first_seen)), last_fetched, last_status, digest,"
                " last_changed, lastmod, published, fetches, fetched_url, etag, last_modified"
                " FROM urls WHERE url = ?",
                (url, url, alias),
            )
        self._touch()

    def settle_sitemaps(self, lastmods: dict[str, str], now: float) -> None:
        """Remember child sitemaps (canonical URL -> the index's ``<lastmod>``) whose
        every listed page this run requested and answered: the next run may leave
        them unread while their ``<lastmod>`` stays the same (spiders/news.py)."""
        self.db.executemany(
            "INSERT OR REPLACE INTO sitemaps_read (url, lastmod, read_at) VALUES (?, ?, ?)",
            [(url, lastmod, now) for url, lastmod in lastmods.items()])
        self._touch()

    def _touch(self) -> None:
        self._pending += 1
        if self._pending >= self.commit_every:
            self.commit()

    def commit(self) -> None:
        """Make the recorded fetches durable (after :attr:`before_commit`)."""
        if self.before_commit is not None and self._pending:
            self.before_commit()
        try:
            self.db.commit()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot write the crawl state {self.path}: {exc}") from exc
        self._pending = 0

    def close(self) -> None:
        """Commit and close."""
        try:
            self.commit()
        finally:
            self.db.close()
