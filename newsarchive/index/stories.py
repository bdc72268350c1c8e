"""Story clusters: one ``story_id`` for the versions of a story across captures and sites.

A wire story runs on many sites, cut, extended, corrected; a page is captured
again and again. Each version is a set of word shingles (:data:`SHINGLE` words),
summarised by a MinHash signature (datasketch, :data:`NUM_PERM` permutations).
Two versions are the same story when the estimated Jaccard similarity of their
shingle sets reaches :data:`THRESHOLD`. Candidates come from LSH banding (the
band count and width datasketch's ``MinHashLSH`` picks for the threshold), so
assigning a version costs a few index look-ups, not a comparison with every
story.

The bands and signatures live in SQLite (``state/stories.sqlite`` of the
collection) rather than in datasketch's in-memory ``MinHashLSH``: the catalog
is built one WARC file at a time as a crawl closes them, and runs of a
collection months apart must keep adding to the same clusters. A version joins
the story of its most similar earlier version (single link); a version that
matches none starts a story whose id is derived from its record id. Assignment
is idempotent per record id, so rebuilding a WARC's catalog part keeps its ids.

Thresholds, measured by ``benchmarks/stories.py`` on synthetic syndicated
stories with known truth (versions with paragraphs cut, added lines,
corrections, rewording): see that file's docstring for the numbers.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import unicodedata
import zlib
from functools import cache
from pathlib import Path
from typing import Any

from newsarchive.collection import Layout

logger = logging.getLogger(__name__)

NUM_PERM = 128
SHINGLE = 3  # words per shingle: 3 keeps a changed word from hiding more than 3 of them
THRESHOLD = 0.4  # estimated Jaccard similarity at which two versions are one story
SEED = 1
SCHEME = "affine32"  # datasketch 2's 32-bit hashing: signatures of NUM_PERM uint32
_WORD = re.compile(r"\w+")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS member (
    id INTEGER PRIMARY KEY, record TEXT UNIQUE, story TEXT NOT NULL, exact TEXT, sig BLOB
);
CREATE INDEX IF NOT EXISTS member_exact ON member (exact);
CREATE TABLE IF NOT EXISTS band (band INTEGER, key BLOB, member INTEGER);
CREATE INDEX IF NOT EXISTS band_key ON band (band, key);
"""


def shingles(text: str, size: int = SHINGLE) -> set[bytes]:
    """The word shingles of ``text`` (NFKC, lower case), as bytes."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).lower())
    if len(words) < size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(g).encode() for g in zip(*(words[i:] for i in range(size)), strict=False)}


@cache
def _template() -> Any:
    # Permutations are drawn once; each signature starts from a copy. CRC32 hashes a
    # shingle in C (datasketch's default SHA-1 wrapper is Python per shingle, 4x the
    # time); the affine32 scheme mixes its bits (murmur3's finaliser) before permuting.
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, hashfunc=zlib.crc32)


@cache
def bands(threshold: float = THRESHOLD) -> tuple[int, int]:
    """``(b, r)``: LSH bands and rows per band for ``threshold`` (datasketch's choice)."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    return lsh.b, lsh.r


def signature(text: str) -> Any:
    """The MinHash signature of ``text`` (a numpy array of :data:`NUM_PERM` uint32)."""
    import numpy as np

    mh = _template().copy()
    grams = shingles(text)
    if grams:
        mh.update_batch(list(grams))
    return mh.hashvalues.astype(np.uint32)


def similarity(a: Any, b: Any) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float((a == b).mean())


def exact_key(text: str) -> str:
    """A digest of the whitespace-normalised, lower-case text: identical versions."""
    return hashlib.sha1(" ".join(text.lower().split()).encode("utf-8")).hexdigest()


def new_story_id(record: str) -> str:
    """The id of a story started by ``record``."""
    return hashlib.sha1(record.encode("utf-8")).hexdigest()[:16]


class StoryIndex:
    """The persistent LSH index that gives each article version its ``story_id``."""

    def __init__(self, path: Path | str, threshold: float = THRESHOLD) -> None:
        self.path = Path(path)
        self.threshold = threshold
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    @property
    def b(self) -> int:
        """LSH bands (found on first use: datasketch's parameter search imports scipy,
        ~0.7 CPU-s that a crawl without sidecars, whose catalog has no story text,
        need not pay)."""
        return bands(self.threshold)[0]

    @property
    def r(self) -> int:
        """Rows per LSH band (see :attr:`b`)."""
        return bands(self.threshold)[1]

    def close(self) -> None:
        """Commit and close."""
        self.db.commit()
        self.db.close()

    def __enter__(self) -> StoryIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _band_keys(self, sig: Any) -> list[tuple[int, bytes]]:
        b, r = bands(self.threshold)
        return [(i, sig[i * r:(i + 1) * r].tobytes()) for i in range(b)]

    def assign(self, record: str, text: str) -> str | None:
        """The story of the version ``record`` with story text ``text`` (None without text)."""
        import numpy as np

        if not text.strip():
            return None
        row = self.db.execute("SELECT story FROM member WHERE record = ?", (record,)).fetchone()
        if row:
            return str(row[0])
        exact = exact_key(text)
        row = self.db.execute("SELECT story FROM member WHERE exact = ? LIMIT 1",
                              (exact,)).fetchone()
        if row:  # an identical version: same story, nothing new to index
            self.db.execute("INSERT INTO member (record, story, exact) VALUES (?, ?, ?)",
                            (record, row[0], exact))
            return str(row[0])
        sig = signature(text)
        keys = self._band_keys(sig)
        candidates: set[int] = set()
        for band, key in keys:
            candidates.update(m for (m,) in self.db.execute(
                "SELECT member FROM band WHERE band = ? AND key = ?", (band, key)))
        best, story = 0.0, None
        for member in candidates:
            got = self.db.execute("SELECT story, sig FROM member WHERE id = ?",
                                  (member,)).fetchone()
            score = similarity(sig, np.frombuffer(got[1], dtype=np.uint32))
            if score > best:
                best, story = score, got[0]
        if story is None or best < self.threshold:
            story = new_story_id(record)
        cur = self.db.execute("INSERT INTO member (record, story, exact, sig) VALUES (?, ?, ?, ?)",
                              (record, story, exact, sig.tobytes()))
        self.db.executemany("INSERT INTO band VALUES (?, ?, ?)",
                            [(band, key, cur.lastrowid) for band, key in keys])
        return str(story)

    def commit(self) -> None:
        """Make the assignments so far durable."""
        self.db.commit()


def index_path(collection_dir: Path | str) -> Path:
    """Where a collection folder keeps its story index."""
    return Layout(Path(collection_dir)).state_dir / "stories.sqlite"
