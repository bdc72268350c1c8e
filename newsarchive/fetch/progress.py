"""The crawl's progress: pages, MB, errors, sidecars, rate.

Drawn by :class:`newsarchive.progress.Progress` like every other verb's: live
on a terminal; otherwise (logs, cron, CI) a plain line every
``PROGRESS_LOG_INTERVAL`` seconds and one at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from scrapy import signals

from newsarchive.progress import Progress
from newsarchive.switches import require

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector


def crawl_counts(stats: dict[str, Any]) -> dict[str, Any]:
    """The numbers a person wants from Scrapy's stats, by name."""
    status_5xx = sum(
        v for k, v in stats.items() if k.startswith("downloader/response_status_count/5")
    )
    return {
        "pages": int(stats.get("response_received_count", 0)),
        "bytes": int(stats.get("downloader/response_bytes", 0)),
        # IgnoreRequest is how robots.txt and the crawl state drop a request on
        # purpose; Scrapy's DownloaderStats counts it as an exception all the same.
        "errors": int(stats.get("downloader/exception_count", 0))
        - int(stats.get("downloader/exception_type_count/scrapy.exceptions.IgnoreRequest", 0))
        + int(status_5xx),
        "records": int(stats.get("warc/queued", 0)),
        "sidecars": int(stats.get("sidecar/written", 0)),
    }


def format_line(counts: dict[str, Any], elapsed: float) -> str:
    """``4.1 MB | errors 0 | sidecars 12 | 38.2 pages/s | 0.9 MB/s``: the counters after the pages."""
    rate = counts["pages"] / elapsed if elapsed > 0 else 0.0
    mbps = counts["bytes"] / 1e6 / elapsed if elapsed > 0 else 0.0
    return (
        f"{counts['bytes'] / 1e6:.1f} MB | errors {counts['errors']}"
        f" | sidecars {counts['sidecars']} | {rate:.1f} pages/s | {mbps:.2f} MB/s"
    )


class ProgressExtension:
    """Shows the crawl's progress while it runs (``PROGRESS_ENABLED``), with :mod:`newsarchive.progress`."""

    def __init__(self, stats: StatsCollector, interval: float, log_interval: float = 5.0,
                 stream: TextIO | None = None):
        self.stats = stats
        self.interval = interval
        self.log_interval = log_interval
        self.stream = stream
        self.progress: Progress | None = None
        self._counts: dict[str, Any] = {}
        self._task: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressExtension:
        """Enabled by ``PROGRESS_ENABLED``."""
        require(crawler.settings, "PROGRESS_ENABLED")  # the CLI's, unless --quiet/--json
        ext = cls(crawler.stats, crawler.settings.getfloat("PROGRESS_INTERVAL"),
                  crawler.settings.getfloat("PROGRESS_LOG_INTERVAL", 5.0))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def _detail(self, progress: Progress) -> str:
        return format_line(self._counts, progress.elapsed) if self._counts else ""

    def spider_opened(self, spider: Any) -> None:
        """Start the display and its timer."""
        from twisted.internet import task

        self.progress = Progress("crawl", unit="pages", detail=self._detail, stream=self.stream,
                                 interval=self.log_interval, rate=False)
        self._task = task.LoopingCall(self.tick)
        self._task.start(self.interval, now=False)

    def tick(self) -> None:
        """Read the stats; redraw (or print a line when one is due)."""
        if self.progress is None:
            return
        self._counts = crawl_counts(self.stats.get_stats())
        self.progress.update(self._counts["pages"])

    def spider_closed(self, spider: Any) -> None:
        """Stop the timer and end the display with the final counts."""
        if self._task is not None and self._task.running:
            self._task.stop()
        if self.progress is not None:
            self._counts = crawl_counts(self.stats.get_stats())
            self.progress.update(self._counts["pages"])
            self.progress.close()
