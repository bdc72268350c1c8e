"""``CLOSESPIDER_BYTES``: stop a crawl once it has downloaded this many bytes.

Scrapy's own :class:`~scrapy.extensions.closespider.CloseSpider` stops on
pages, items, errors and time; a site file's ``limits.bytes`` needs the same
for volume, so a scheduled crawl of a site that suddenly serves huge files
cannot fill the disk. Bytes are counted as received (``response.body``), the
same figure as ``downloader/response_bytes`` give or take headers.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro

from newsarchive.fetch.body import SIZE_META

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class CloseSpiderBytes:
    """Closes the spider with reason ``closespider_bytes`` past ``CLOSESPIDER_BYTES``."""

    def __init__(self, crawler: Crawler, limit: int) -> None:
        self.crawler = crawler
        self.limit = limit
        self.received = 0
        self.closing = False
        crawler.signals.connect(self.response_received, signal=signals.response_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CloseSpiderBytes:
        """Enabled when ``CLOSESPIDER_BYTES`` is above 0."""
        limit = crawler.settings.getint("CLOSESPIDER_BYTES")
        if limit <= 0:
            # Off by default (CLOSESPIDER_BYTES = 0): no message, or Scrapy would
            # warn "Disabled ..." on every ordinary crawl.
            raise NotConfigured
        return cls(crawler, limit)

    def response_received(self, response: Any, request: Any = None, spider: Any = None) -> None:
        """Count the body; close the spider once over the limit."""
        size = request.meta.get(SIZE_META) if request is not None else None
        self.received += size if size is not None else len(response.body)
        if self.received >= self.limit and not self.closing and self.crawler.engine:
            self.closing = True
            logger.info("closing: %d bytes downloaded (CLOSESPIDER_BYTES)", self.received)
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="closespider_bytes"))
