"""Story clusters: one ``story_id`` for the versions of a story across captures and sites.

A wire story runs on many sites, cut, extended, corrected; a page is captured
again and again. Each version is a set of word shingles (:data:`SHINGLE` words),
summarised by a MinHash signature (:data:`NUM_PERM` permutations): the values
datasketch 2's ``MinHash`` gives (scheme ``affine32``, CRC32 of each shingle),
computed here in a few lines of numpy. Importing datasketch imports scipy
(its LSH parameter search integrates with it) and redis, and its ``MinHash``
object costs more to build per version than the hashing itself: paid by every
crawl at its end, in its serial tail (``benchmarks/README.md``); the tests
check the signatures against datasketch's. Two versions are the same story
when the estimated Jaccard similarity of their shingle sets reaches
:data:`THRESHOLD`. Candidates come from LSH banding (the band count and width
datasketch's ``MinHashLSH`` picks for the threshold, kept for
:data:`THRESHOLD` in :data:`KNOWN_BANDS`), so assigning a version costs an
index look-up, not a comparison with every story.

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


#: ``(threshold, NUM_PERM) -> (b, r)``: datasketch's choice, so that the bands of
#: :data:`THRESHOLD` need neither its search nor scipy (tests/test_stories.py checks it)
KNOWN_BANDS = {(0.4, 128): (32, 4)}
# MurmurHash3's 32-bit finaliser, which datasketch's affine32 scheme applies to each
# hash before its permutations
_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)


@cache
def _permutations() -> tuple[Any, Any]:
    """The ``a`` (odd) and ``b`` of the :data:`NUM_PERM` affine permutations
    ``h -> a * h + b mod 2**32``, drawn as datasketch draws them from :data:`SEED`."""
    import numpy as np

    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


@cache
def bands(threshold: float = THRESHOLD) -> tuple[int, int]:
    """``(b, r)``: LSH bands and rows per band for ``threshold`` (datasketch's choice;
    searched by datasketch, which imports scipy, unless in :data:`KNOWN_BANDS`)."""
    known = KNOWN_BANDS.get((threshold, NUM_PERM))
    if known is not None:
        return known
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    return lsh.b, lsh.r


def signature(text: str) -> Any:
    """The MinHash signature of ``text`` (a numpy array of :data:`NUM_PERM` uint32)."""
    import numpy as np

    grams = shingles(text)
    if not grams:
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    hv = np.fromiter(map(zlib.crc32, grams), dtype=np.uint32, count=len(grams))
    s1, m1, s2, m2, s3 = _FMIX32
    hv ^= hv >> np.uint32(s1)
    hv *= np.uint32(m1)
    hv ^= hv >> np.uint32(s2)
    hv *= np.uint32(m2)
    hv ^= hv >> np.uint32(s3)
    a, b = _permutations()
    signed: Any = (hv[:, None] * a + b).min(axis=0)  # uint32 arithmetic: mod 2**32
    return signed


def similarity(a: Any, b: Any) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float((a == b).mean())


def exact_key(text: str) -> str:
    """A digest of the whitespace-normalised, lower-case text: identical versions."""
    return hashlib.sha1(" ".join(text.lower().split()).encode("utf-8")).hexdigest()


def new_story_id(record: str) -> str:
    """The id of a story started by ``record``."""
    return hashlib.sha1(record.encode("utf-8")).hexdigest()[:16]


@cache
def _candidates_sql(count: int) -> str:
    """Members sharing any of ``count`` (band, key) pairs."""
    return "SELECT member FROM band WHERE " + " OR ".join(["(band = ? AND key = ?)"] * count)


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
        """LSH bands (:func:`bands`)."""
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
        # One query for all bands: SQLite answers the ORs from the band_key index
        # ("MULTI-INDEX OR"), its rows once each; a row-value IN list would scan the table.
        candidates = {m for (m,) in self.db.execute(
            _candidates_sql(len(keys)), [v for band_key in keys for v in band_key])}
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
