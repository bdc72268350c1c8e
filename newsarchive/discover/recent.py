"""The links a spider asked for lately: a bounded set to skip repeats before Scrapy sees them.

Every page of a news site links to the same fronts, sections and footer
pages and embeds the same stylesheets, scripts and logos, so most links a
page yields were yielded by a page before it. Scrapy's duplicate filter drops
them, but only after each became a ``Request`` and passed the spider
middlewares (depth, referer, URL length, offsite), the ``request_scheduled``
signal and a request fingerprint: per repeat about as much CPU as the
spider's own work for a new link (benchmarks/README.md).

:class:`RecentUrls` remembers the last ``size`` URLs (exact strings, as the
page gave them) and tells a repeat. It is a pre-filter only: a URL it has
forgotten goes on to the duplicate filter as before, and it never holds back
a URL Scrapy would have requested (whatever was asked for once would be
dropped by the duplicate filter). Bounded, so a long crawl's memory stays flat.
"""

from __future__ import annotations

from collections import OrderedDict

RECENT_URLS = 8192  # URLs remembered; ~1 MB, and a site's navigation fits many times


class RecentUrls:
    """A set of the last ``size`` URLs added, oldest forgotten first."""

    def __init__(self, size: int = RECENT_URLS) -> None:
        self.size = size
        self._urls: OrderedDict[str, None] = OrderedDict()  # oldest first
        self.repeats = 0  # URLs skipped as repeats

    def seen(self, url: str) -> bool:
        """Whether ``url`` is one of the remembered ones (a repeat, counted)."""
        if url in self._urls:
            self.repeats += 1
            return True
        return False

    def add(self, url: str) -> None:
        """Remember ``url`` (one asked for now); forget the oldest past ``size``."""
        urls = self._urls
        urls[url] = None
        if len(urls) > self.size:
            urls.popitem(last=False)  # O(1); a dict would rescan its deleted slots

    def __len__(self) -> int:
        return len(self._urls)
