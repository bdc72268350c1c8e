"""The upload journal of a collection folder: what must reach the store, and its SHA-256.

The collection folder itself is the spool: closed files stay where the crawl
wrote them until the store holds a verified copy. This journal
(``DIR/state/uploads.sqlite``) records, per store, each file's key, size,
SHA-256 and CRC32 -- taken *before* the upload, by the writer of the file as it
wrote it or else by reading it once here -- and its state:

``pending``  digest recorded, queued; not yet known to be in the store.
``stored``   the store holds a byte-identical copy (verified); local copy still here.
``removed``  the local copy was deleted after that verification.

Each step is committed (SQLite, WAL, ``synchronous=FULL``) before the next
begins, so after a kill -9 at any point the next start knows where it was:
a ``pending`` file may or may not be in the store (the uploader checks), and
nothing is ever removed before it is ``stored``. A lock file makes sure only
one uploader works on a collection at a time.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from newsarchive.exceptions import StorageError
from newsarchive.layout import Layout
from newsarchive.store.digest import FileDigest, hash_file
from newsarchive.store.keys import key_for
from newsarchive.store.local import disk_error

logger = logging.getLogger(__name__)

JOURNAL = "uploads.sqlite"
LOCK = "uploads.lock"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    store TEXT NOT NULL,          -- the store URI the file goes to
    path TEXT NOT NULL,           -- relative to the collection folder
    kind TEXT NOT NULL,           -- warc | sidecars | index | catalog
    key TEXT NOT NULL,            -- relative to the store's root
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,         -- hex, recorded before the upload
    part_size INTEGER NOT NULL,   -- unused since CRC32 replaced per-part SHA-256s (0)
    parts BLOB NOT NULL,          -- unused (empty); rows of older versions may hold some
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    queued_at REAL NOT NULL,
    stored_at REAL,
    crc32 INTEGER,                -- whole file; NULL in rows of older versions
    PRIMARY KEY (store, path)
);
"""


_COLUMNS = "path, kind, key, size, sha256, crc32, state, attempts, last_error"


@dataclass(frozen=True)
class Entry:
    """One journal row: a closed file, where it goes, and what it must contain."""

    path: Path
    kind: str
    key: str
    digest: FileDigest
    state: str
    attempts: int = 0
    last_error: str | None = None


class Spool:
    """The journal of one collection folder for one store; holds the collection's lock."""

    def __init__(self, collection: Path, store_uri: str) -> None:
        self.collection = Path(collection)
        self.store_uri = store_uri
        state = Layout(self.collection).state_dir
        try:
            state.mkdir(parents=True, exist_ok=True)
            self._lock_file = (state / LOCK).open("a+")
        except OSError as exc:
            raise disk_error(exc, state) from exc
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise StorageError(
                f"another upload is already running on {self.collection} "
                f"(lock {state / LOCK}); wait for it to finish"
            ) from None
        self._mutex = threading.Lock()
        self._db = sqlite3.connect(state / JOURNAL, check_same_thread=False, isolation_level=None)
        with self._write():
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(uploads)")}
            if "crc32" not in columns:  # a journal of an older version
                self._db.execute("ALTER TABLE uploads ADD COLUMN crc32 INTEGER")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Serialise access; a full disk becomes a one-line StorageError."""
        with self._mutex:
            try:
                yield self._db
            except sqlite3.OperationalError as exc:
                if "full" in str(exc):
                    raise disk_error(OSError(28, "No space left on device"),
                                     Layout(self.collection).state_dir) from exc
                raise

    def close(self) -> None:
        """Close the journal and release the collection's lock."""
        with self._mutex:
            self._db.close()
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()

    # --- queueing ---------------------------------------------------------------
    def enqueue(self, path: Path, kind: str, digest: FileDigest | None = None,
                part_size: int | None = None) -> Entry:
        """Record a closed file unless it is already in the journal.

        ``digest`` is the one its writer computed while writing it; without
        one, the file is read and hashed now (with the CRC32 of each part of
        ``part_size``, if given: the returned entry's digest carries them for
        its upload; the journal keeps the whole file's).
        """
        rel = self._rel(path)
        existing = self.get(rel)
        if existing is not None:
            return existing
        if digest is None:
            try:
                digest = hash_file(path, part_size)
            except OSError as exc:
                raise disk_error(exc, path) from exc
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO uploads (store, path, kind, key, size, sha256, crc32,"
                " part_size, parts, queued_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, x'', ?)",
                (self.store_uri, rel, kind, key_for(path, kind), digest.size, digest.sha256,
                 digest.crc32, time.time()),
            )
        entry = self.get(rel)
        assert entry is not None
        # The row just written is this digest (INSERT OR IGNORE: unless another
        # row came first); hand on what the journal does not keep.
        return replace(entry, digest=digest) if entry.digest == digest else entry

    def _rel(self, path: Path) -> str:
        path = Path(path)
        try:
            return path.resolve().relative_to(self.collection.resolve()).as_posix()
        except ValueError:
            raise StorageError(f"{path} is not inside the collection {self.collection}") from None

    def get(self, rel: str | Path) -> Entry | None:
        """The journal entry of a file (path relative to the collection, or absolute)."""
        rel = self._rel(Path(rel)) if Path(rel).is_absolute() else str(rel)
        with self._write() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM uploads WHERE store = ? AND path = ?",
                (self.store_uri, rel),
            ).fetchone()
        return self._entry(row) if row else None

    def _entry(self, row: tuple) -> Entry:  # type: ignore[type-arg]
        rel, kind, key, size, sha, crc32, state, attempts, error = row
        digest = FileDigest(size=size, sha256=sha, crc32=crc32)
        return Entry(self.collection / rel, kind, key, digest, state, attempts, error)

    def entries(self, state: str) -> list[Entry]:
        """Entries in ``state``, oldest first."""
        with self._write() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM uploads WHERE store = ? AND state = ?"
                " ORDER BY queued_at, path",
                (self.store_uri, state),
            ).fetchall()
        return [self._entry(r) for r in rows]

    def counts(self) -> dict[str, tuple[int, int]]:
        """state -> (files, bytes)."""
        with self._write() as db:
            rows = db.execute(
                "SELECT state, COUNT(*), COALESCE(SUM(size), 0) FROM uploads WHERE store = ?"
                " GROUP BY state",
                (self.store_uri,),
            ).fetchall()
        return {state: (n, size) for state, n, size in rows}

    # --- state changes (each one committed before the caller goes on) -----------
    def _set(self, entry: Entry, sql: str, *args: object) -> None:
        with self._write() as db:
            db.execute(f"UPDATE uploads SET {sql} WHERE store = ? AND path = ?",
                       (*args, self.store_uri, self._rel(entry.path)))

    def mark_stored(self, entry: Entry) -> None:
        """The store holds a verified copy: from now on the local copy may go."""
        self._set(entry, "state = 'stored', stored_at = ?, last_error = NULL", time.time())

    def mark_removed(self, entry: Entry) -> None:
        """The local copy was deleted (only ever after :meth:`mark_stored`)."""
        self._set(entry, "state = 'removed'")

    def note_failure(self, entry: Entry, error: str) -> None:
        """Count a failed attempt; the entry stays ``pending`` for the next run."""
        self._set(entry, "attempts = attempts + 1, last_error = ?", error)

    def remove_local(self, entry: Entry) -> bool:
        """Delete the local copy of a ``stored`` entry and record it; True if deleted."""
        current = self.get(self._rel(entry.path))
        if current is None or current.state != "stored":
            raise AssertionError(f"refusing to delete {entry.path}: not verified in the store")
        try:
            os.unlink(entry.path)
        except FileNotFoundError:
            pass
        self.mark_removed(entry)
        return True
