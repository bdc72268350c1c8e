"""The URLs of a collection's sidecars, against which fetched articles are counted.

``status`` and every crawl's report count the articles the crawl state saw
fetched that no sidecar holds (:func:`newsarchive.report.status.articles_without_sidecar`).
The sidecar URLs live in SQLite, not in memory (:class:`UrlSet`): as a Python
set they took ~60 MB at 100,000 articles.

A crawl's report keeps them between runs (:func:`kept_urls`), in
``DIR/state/sidecar-urls.sqlite`` with each sidecar file's size and mtime: a
closed sidecar file never changes, so a run reads only the files that are new
or changed since the last report (its own, and ``.open`` ones), and drops the
URLs of files that are gone. Reading every file of the collection again made
the end of each run grow with the collection, not with the run: ~10 CPU-s
after a 100,000-article crawl, in every re-crawl of it (issue #19).
"""

from __future__ import annotations

import gzip
import json
import logging
import sqlite3
import tempfile
import zlib
from collections.abc import Iterable
from pathlib import Path

from newsarchive.collection import OPEN_SUFFIX, SIDECAR_SUFFIX, Layout

logger = logging.getLogger(__name__)

KEPT_NAME = "sidecar-urls.sqlite"  # in the collection's state folder
_URL_BATCH = 10_000  # URLs inserted at once
_SCHEMA = """
CREATE TABLE IF NOT EXISTS have (url TEXT NOT NULL, file TEXT NOT NULL,
                                 PRIMARY KEY (url, file)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS have_file ON have (file);
CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY, size INTEGER NOT NULL,
                                  mtime_ns INTEGER NOT NULL);
"""


class UrlSet:
    """A set of URLs (each with the sidecar file it came from) in SQLite.

    The sidecar URLs of a collection, and their canonical forms (the crawl
    state's identity of a page). In a temporary file by default, where only
    the page cache (SQLite's default, ~2 MB) stays in memory; at ``path``,
    the set a crawl's report keeps (:func:`kept_urls`).
    """

    def __init__(self, path: Path | None = None) -> None:
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        if path is None:
            self._dir = tempfile.TemporaryDirectory(prefix="newsarchive-urls-")
            path = Path(self._dir.name) / "urls.sqlite"
        # uri: ATTACH reads a URI
        self.db = sqlite3.connect(f"file:{path}", uri=True, timeout=10)
        if self._dir is not None:
            self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
        else:  # kept: each file's URLs land whole or not at all, even after a kill
            self.db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        self.db.executescript(_SCHEMA)

    def update(self, urls: Iterable[str], file: str = "") -> None:
        """Add ``urls`` and the canonical form of each, as found in ``file``."""
        from newsarchive.discover.canonical import canonical_url

        batch: list[tuple[str, str]] = []
        for url in urls:
            batch.append((url, file))
            batch.append((canonical_url(url), file))
            if len(batch) >= _URL_BATCH:
                self.db.executemany("INSERT OR IGNORE INTO have VALUES (?, ?)", batch)
                batch = []
        self.db.executemany("INSERT OR IGNORE INTO have VALUES (?, ?)", batch)

    def fetched_without(self, crawl_db: Path) -> int:
        """Articles the crawl state in ``crawl_db`` saw fetched (2xx) whose URL (or URL
        fetched) is not in the set; 0 when the state cannot be read."""
        self.db.commit()  # ATTACH cannot run inside the inserts' transaction
        try:
            self.db.execute("ATTACH DATABASE ? AS crawl", (f"file:{crawl_db}?mode=ro",))
        except sqlite3.Error:
            return 0
        try:
            row = self.db.execute(
                "SELECT count(*) FROM crawl.urls WHERE kind = 'article'"
                " AND last_status BETWEEN 200 AND 299"
                " AND url NOT IN (SELECT url FROM have)"
                " AND coalesce(nullif(fetched_url, ''), url) NOT IN (SELECT url FROM have)"
            ).fetchone()
            return int(row[0])
        except sqlite3.Error:
            return 0
        finally:
            self.db.execute("DETACH DATABASE crawl")

    def close(self) -> None:
        """Close it (and drop a temporary file)."""
        self.db.close()
        if self._dir is not None:
            self._dir.cleanup()


def scan_sidecar_file(path: Path, urls: UrlSet) -> int:
    """Add the URLs of one sidecar file to ``urls``; return its article count.

    Tolerates the cut end of an ``.open`` file left by a kill: what was read counts.
    """
    articles = 0
    found: list[str] = []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                try:
                    sc = json.loads(line)
                except ValueError:
                    continue
                articles += sc.get("is_article", True) is not False
                found.extend(str(sc[key]) for key in ("url", "canonical_url") if sc.get(key))
                if len(found) >= _URL_BATCH:
                    urls.update(found, path.name)
                    found = []
    except (OSError, EOFError, zlib.error):
        pass
    urls.update(found, path.name)
    return articles


def sidecar_files(folder: Path) -> list[Path]:
    """A collection folder's sidecar files, closed and ``.open``."""
    folder = Layout(folder).sidecar_dir
    if not folder.is_dir():
        return []
    return [path for suffix in (SIDECAR_SUFFIX, SIDECAR_SUFFIX + OPEN_SUFFIX)
            for path in sorted(folder.glob(f"*{suffix}"))]


def scan_sidecars(folder: Path, urls: UrlSet) -> int:
    """Articles in a folder's sidecar files (closed and ``.open``); their URLs go to ``urls``.

    Read from the files rather than the catalog: a sidecar lands in the file
    beside the WARC being written when it is extracted, which after a
    rotation is not the WARC holding its page, and an ``.open`` file is in no
    catalog yet. Each file is streamed a line at a time (a cut end tolerated).
    DuckDB's JSON reader, used before, takes less CPU (4.6 against 10.9 CPU-s
    for 92,560 sidecars, its 2 threads counted; alike at 5,785) but its memory
    grew with the file: +250 MB for a 176 MB sidecar file of 92,560 sidecars,
    at the end of every crawl (issue #19).
    """
    return sum(scan_sidecar_file(path, urls) for path in sidecar_files(folder))


def refresh(urls: UrlSet, folder: Path) -> None:
    """Bring a kept set up to date with the folder's sidecar files.

    A file is read again only when its size or mtime changed (or it is new);
    the URLs of files no longer there are dropped. Each file's update is one
    transaction.
    """
    db = urls.db
    known = {name: (size, mtime) for name, size, mtime in
             db.execute("SELECT name, size, mtime_ns FROM files")}
    present = set()
    for path in sidecar_files(folder):
        try:
            st = path.stat()
        except OSError:
            continue  # renamed (closed) since it was listed: the closed file is read next time
        present.add(path.name)
        if known.get(path.name) == (st.st_size, st.st_mtime_ns):
            continue
        with db:
            db.execute("DELETE FROM have WHERE file = ?", (path.name,))
            scan_sidecar_file(path, urls)
            db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?)",
                       (path.name, st.st_size, st.st_mtime_ns))
    for name in set(known) - present:
        with db:
            db.execute("DELETE FROM have WHERE file = ?", (name,))
            db.execute("DELETE FROM files WHERE name = ?", (name,))


def kept_urls(folder: Path) -> UrlSet | None:
    """The folder's kept set, brought up to date (:func:`refresh`); None if it cannot be
    (a read-only folder, a damaged or busy file): the caller reads every file instead."""
    path = Layout(folder).state_dir / KEPT_NAME
    urls = None
    try:
        urls = UrlSet(path)
        refresh(urls, folder)
        return urls
    except (OSError, sqlite3.Error) as exc:
        logger.info("cannot use %s (%s): reading every sidecar file", path, exc)
        if urls is not None:
            urls.db.close()
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            for name in (path.name, path.name + "-wal", path.name + "-shm"):  # damaged: made anew
                (path.parent / name).unlink(missing_ok=True)
        return None
