"""The crawl's stats collector: Scrapy's own, read without its deprecation shim.

Scrapy (2.19, the version pinned) gives :class:`~scrapy.statscollectors.StatsCollector`
a ``__getattribute__`` that, on every attribute read, first looks for a
cached wrapper that warns callers still passing ``spider=``; each read of
``_stats`` inside ``inc_value`` raises and catches an ``AttributeError`` on
the way, so a call costs ~4 us instead of ~0.15. A crawl counts many stats
per page (Scrapy's downloader, scheduler, duplicate filter and depth
middleware, and ours), and that shim was one of the larger single items in
the CPU a capture crawl spends beyond plain Scrapy's (benchmarks/README.md).

:class:`CrawlStats` is Scrapy's ``MemoryStatsCollector`` with plain
attribute reads: the same methods and results (``spider_stats`` kept after
the close); a ``spider`` argument is still accepted and ignored, as Scrapy's
methods do, only no longer warned about. Set as ``STATS_CLASS``.
"""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector


class CrawlStats(MemoryStatsCollector):
    """``MemoryStatsCollector`` whose attribute reads are Python's plain ones."""

    __getattribute__ = object.__getattribute__  # type: ignore[assignment]
