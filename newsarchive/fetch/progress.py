"""A live progress line for crawls: pages, MB, errors, rate.

On a terminal the line is redrawn in place; otherwise (logs, CI) a plain line
is printed every ``PROGRESS_INTERVAL * 10`` seconds, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from scrapy import signals
from scrapy.exceptions import NotConfigured

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
    """``pages 120 | 4.1 MB | errors 0 | 38.2 pages/s | 0.9 MB/s``."""
    rate = counts["pages"] / elapsed if elapsed > 0 else 0.0
    mbps = counts["bytes"] / 1e6 / elapsed if elapsed > 0 else 0.0
    return (
        f"pages {counts['pages']} | {counts['bytes'] / 1e6:.1f} MB | errors {counts['errors']}"
        f" | sidecars {counts['sidecars']} | {rate:.1f} pages/s | {mbps:.2f} MB/s"
    )


class ProgressExtension:
    """Prints the progress line while a crawl runs (``PROGRESS_ENABLED``)."""

    def __init__(self, stats: StatsCollector, interval: float, stream: TextIO = sys.stderr):
        self.stats = stats
        self.interval = interval
        self.stream = stream
        self.tty = stream.isatty()
        self.start = time.monotonic()
        self._last_plain = 0.0
        self._task: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressExtension:
        """Enabled by ``PROGRESS_ENABLED``."""
        if not crawler.settings.getbool("PROGRESS_ENABLED"):
            # Off by default (the CLI turns it on unless --quiet/--json): no
            # message, or Scrapy would warn "Disabled ..." on those crawls.
            raise NotConfigured
        ext = cls(crawler.stats, crawler.settings.getfloat("PROGRESS_INTERVAL"))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        """Start the timer."""
        from twisted.internet import task

        self.start = time.monotonic()
        self._task = task.LoopingCall(self.tick)
        self._task.start(self.interval, now=False)

    def tick(self) -> None:
        """Redraw (or print) the line."""
        elapsed = time.monotonic() - self.start
        line = format_line(crawl_counts(self.stats.get_stats()), elapsed)
        if self.tty:
            self.stream.write("\r\x1b[K" + line)
            self.stream.flush()
        elif elapsed - self._last_plain >= self.interval * 10:
            self._last_plain = elapsed
            self.stream.write(line + "\n")
            self.stream.flush()

    def spider_closed(self, spider: Any) -> None:
        """Stop the timer and end the line."""
        if self._task is not None and self._task.running:
            self._task.stop()
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
