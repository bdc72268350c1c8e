"""The collection's payload-digest index, for ``revisit`` records.

A response whose payload digest was already archived in the collection is
written as an identical-payload-digest revisit that points at the first copy.
The index is SQLite in ``DIR/state/``, so it survives across crawls of the
same collection. A digest is added only after its record was flushed, so a
kill can at worst forget a digest (the next copy is stored in full), never
point a revisit at a record that is not on disk.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Original:
    """The first archived copy of a payload."""

    uri: str
    date: str
    record_id: str


class DigestIndex:
    """``payload digest -> first capture``; used by one thread only."""

    def __init__(self, path: Path, commit_every: int = 200) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS digests ("
            " digest TEXT PRIMARY KEY, uri TEXT NOT NULL, date TEXT NOT NULL,"
            " record_id TEXT NOT NULL)"
        )
        self._pending = 0
        self._commit_every = commit_every

    def lookup(self, digest: str) -> Original | None:
        """The first capture of ``digest``, if any."""
        row = self._db.execute(
            "SELECT uri, date, record_id FROM digests WHERE digest = ?", (digest,)
        ).fetchone()
        return Original(*row) if row else None

    def add(self, digest: str, uri: str, date: str, record_id: str) -> None:
        """Remember a stored payload (committed in batches)."""
        self._db.execute(
            "INSERT OR IGNORE INTO digests VALUES (?, ?, ?, ?)", (digest, uri, date, record_id)
        )
        self._pending += 1
        if self._pending >= self._commit_every:
            self.commit()

    def commit(self) -> None:
        """Make added digests durable."""
        self._db.commit()
        self._pending = 0

    def close(self) -> None:
        """Commit and close."""
        self.commit()
        self._db.close()
