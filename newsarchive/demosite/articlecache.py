"""A disk cache of written articles, so a large demo site starts in seconds the second time.

Writing article *i* depends on every article before it (titles and paragraphs
are kept unique across the site), so articles cannot be written one at a time
on demand: a 100,000-article site takes minutes to write in pure Python. What
is written is a pure function of the seed, the wire pattern and the source of
the writer and its vocabulary, and (apart from the publication time, which
depends on the site's size) not of the site's size: the cache is keyed by
exactly those, stores the text of each article, and serves any smaller site
of the same pattern too.

Only sites of at least :data:`CACHE_FROM` articles use it (small sites and
tests write their few articles faster than a file is read). The file goes to
``$NEWSARCHIVE_CACHE_DIR`` or ``$XDG_CACHE_HOME/newsarchive`` (default
``~/.cache/newsarchive``), under ``demosite/``; it is written to a temporary
name and renamed, so concurrent starts never read half a file. A file that
cannot be read or written is ignored (logged): the articles are then written
as before.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

CACHE_FROM = 5_000
#: Bump when the stored layout changes.
FORMAT = 1
#: The fields stored per article, in this order (the rest depends on the site's size).
FIELDS = ("section", "slug", "title", "summary", "authors", "publisher", "wire", "dateline",
          "paragraphs")


def cache_dir() -> Path:
    """Where the article cache lives."""
    explicit = os.environ.get("NEWSARCHIVE_CACHE_DIR")
    if explicit:
        return Path(explicit) / "demosite"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsarchive" / "demosite"


def _source_digest() -> str:
    from newsarchive.demosite import content, vocabulary

    digest = hashlib.sha256(f"format {FORMAT}".encode())
    for module in (content, vocabulary):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def cache_path(seed: str, wire_pattern: Sequence[bool]) -> Path:
    """The cache file of one seed and wire pattern, for the current writer source.

    Named ``articles-<seed and pattern>-<source>.pickle``: :func:`save` removes
    the files of the same seed and pattern written by another source.
    """
    key = hashlib.sha256(
        f"{seed}|{''.join('1' if w else '0' for w in wire_pattern)}".encode()
    ).hexdigest()[:16]
    return cache_dir() / f"articles-{key}-{_source_digest()[:16]}.pickle"


def load(path: Path) -> list[tuple[Any, ...]]:
    """The stored rows (tuples of :data:`FIELDS`), or ``[]`` if there is no usable file."""
    try:
        with path.open("rb") as fh:
            rows = pickle.load(fh)  # noqa: S301 - our own file, keyed by our source digest
    except FileNotFoundError:
        return []
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as exc:
        logger.warning("ignoring the demo site's article cache %s: %s", path, exc)
        return []
    if not isinstance(rows, list) or (rows and len(rows[0]) != len(FIELDS)):
        logger.warning("ignoring the demo site's article cache %s: unknown layout", path)
        return []
    return rows


def save(path: Path, rows: list[tuple[Any, ...]]) -> None:
    """Store ``rows`` atomically (temporary file, then rename); failures only logged."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(rows, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        stem = path.name.rsplit("-", 1)[0]
        for stale in path.parent.glob(f"{stem}-*.pickle"):  # an older writer's: never read again
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("could not store the demo site's article cache in %s: %s", path, exc)
