"""Keeping one copy of each story (``--dedupe-stories``), with where else it ran.

The same wire story is syndicated on many sites; its sidecars share a
``fingerprint`` (64-bit SimHash of the story text, written by the extractor;
a SHA-1 of the normalised text when absent). Deduplication takes two passes
over the rows, with the story keys in an on-disk SQLite table in between, so
memory stays bounded however many stories there are: pass one records every
row's key and URL, pass two keeps the first row of each key and lists the
other URLs in ``also_at``.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any


def story_key(row: dict[str, Any]) -> str:
    """The story's fingerprint, or a hash of its whitespace-normalised text."""
    fingerprint = row.get("fingerprint")
    if fingerprint:
        return f"simhash:{fingerprint}"
    text = " ".join((row.get("text") or "").split()).lower()
    return "sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest()


def dedupe_stories(
    rows: Callable[[], Iterable[dict[str, Any]]], batch: int = 5000
) -> Iterator[dict[str, Any]]:
    """Rows from ``rows()`` (called twice, same order each time), one per story.

    The kept row is the first seen; it gains ``also_at``: the URLs of the
    other copies, in order.
    """
    with tempfile.TemporaryDirectory(prefix="newsarchive-dedupe-") as tmp:
        db = sqlite3.connect(Path(tmp) / "stories.sqlite")
        try:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("CREATE TABLE story (key TEXT, seq INTEGER, url TEXT)")
            pending: list[tuple[str, int, str]] = []
            for seq, row in enumerate(rows()):
                pending.append((story_key(row), seq, row.get("url") or ""))
                if len(pending) >= batch:
                    db.executemany("INSERT INTO story VALUES (?, ?, ?)", pending)
                    pending.clear()
            db.executemany("INSERT INTO story VALUES (?, ?, ?)", pending)
            db.execute("CREATE INDEX story_key ON story (key, seq)")
            db.commit()
            for seq, row in enumerate(rows()):
                copies = db.execute(
                    "SELECT seq, url FROM story WHERE key = ? ORDER BY seq", (story_key(row),)
                ).fetchall()
                if not copies or copies[0][0] != seq:
                    continue  # a later copy of a story already written
                yield {**row, "also_at": [url for s, url in copies if s != seq]}
        finally:
            db.close()
