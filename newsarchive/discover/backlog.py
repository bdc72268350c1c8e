"""Pages listed by sitemaps, waiting to become requests.

A sitemap of a large site lists every article it ever published (100,000
``<url>`` entries is common). Queued at once as Scrapy requests they would sit
in the scheduler's memory until fetched, about 2 KB each: memory growing with
the site, not with the work in flight (issue #19). The spider instead keeps
the listed pages here, one JSON line each in a spooled temporary file (in
memory up to :data:`SPOOL_MEMORY` bytes, then on disk), and turns them into
requests a batch at a time when the scheduler runs dry.

Own code rather than a Scrapy disk queue (``JOBDIR``): those pickle whole
requests, also persist the duplicate filter and resume a crawl, which is not
what is wanted here; this is a plain first-in first-out file of four strings.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass

SPOOL_MEMORY = 1 << 20  # bytes kept in memory before the backlog moves to a file


@dataclass(frozen=True, slots=True)
class Listed:
    """A page a sitemap or feed listed: its URL, kind and the dates announced with it."""

    url: str
    kind: str
    lastmod: str | None = None
    published: str | None = None


class Backlog:
    """A first-in first-out queue of :class:`Listed` pages kept in a spooled file."""

    def __init__(self) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
        self._read_at = 0
        self._write_at = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, listed: Listed) -> None:
        """Queue ``listed`` behind the others."""
        line = json.dumps([listed.url, listed.kind, listed.lastmod, listed.published])
        self._file.seek(self._write_at)
        self._file.write(line.encode("utf-8") + b"\n")
        self._write_at = self._file.tell()
        self._count += 1

    def take(self, n: int) -> list[Listed]:
        """Up to ``n`` pages from the front of the queue."""
        out: list[Listed] = []
        if not self._count:
            return out
        self._file.seek(self._read_at)
        while len(out) < n and self._count:
            url, kind, lastmod, published = json.loads(self._file.readline())
            out.append(Listed(url, kind, lastmod, published))
            self._count -= 1
        self._read_at = self._file.tell()
        if not self._count:  # empty: start the file over
            self._file.seek(0)
            self._file.truncate()
            self._read_at = self._write_at = 0
        return out

    def close(self) -> None:
        """Drop what is left and the file."""
        self._file.close()
        self._count = 0
