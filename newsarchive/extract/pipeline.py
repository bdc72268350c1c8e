"""The item pipeline that writes a sidecar for every archived article page.

The sidecar goes to the WARC writer service, which fills in where the page's
response record lies and writes it both to ``sidecars/NAME.sidecars.jsonl.gz``
and as a ``metadata`` record referring to the response. A page that cannot be
extracted is logged and counted; it never stops the crawl. Each page is
extracted under a time and a memory limit (:mod:`newsarchive.extract.bounded`:
``SIDECAR_TIME_LIMIT``, ``SIDECAR_MEMORY_LIMIT``, ``SIDECAR_MAX_BYTES``); a page
over them, or one the extractor fails on, gets a sidecar with ``extractor.error``
(stats ``sidecar/errors``).

Extraction is CPU work in Python (about 13 ms for a 18 KB page): done on the
reactor thread it caps a crawl near 75 pages/s. With ``SIDECAR_WORKERS`` > 0
it runs in a process pool instead, so fetching and extracting overlap on a
multi-core machine; the GIL rules out threads.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from newsarchive.exceptions import NewsarchiveError
from newsarchive.extract.bounded import Limits
from newsarchive.fetch.items import PageItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def extract_page(
    body: bytes, url: str, content_type: str | None, fetched_at: datetime | None,
    limits: Limits | None = None,
) -> tuple[dict[str, Any] | None, str | None]:
    """Sidecar of one page and the one-line reason extraction failed, if it did: an
    error sidecar with that reason, or None when the page is not HTML at all."""
    from newsarchive.extract.bounded import extraction_error, shared

    try:
        sidecar = shared(limits or Limits()).extract(body, url, content_type=content_type,
                                                     fetched_at=fetched_at)
    except NewsarchiveError as exc:
        return None, str(exc)
    return sidecar, extraction_error(sidecar)


def warm_up(limits: Limits | None = None) -> None:
    """Start the bounded extraction worker, so the first page does not wait for it."""
    from newsarchive.extract.bounded import shared

    shared(limits or Limits()).start()


def default_workers() -> int:
    """One extraction process beside the crawl when there is a second core."""
    return 1 if (os.cpu_count() or 1) > 1 else 0


class SidecarPipeline:
    """Extracts :class:`PageItem` pages into sidecars (``SIDECAR_ENABLED``)."""

    def __init__(self, crawler: Crawler, workers: int) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.workers = workers
        self.limits = Limits.from_settings(crawler.settings)
        self._pool: Executor | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SidecarPipeline:
        """Enabled by ``SIDECAR_ENABLED`` when WARC capture is on."""
        s = crawler.settings
        if not s.getbool("SIDECAR_ENABLED"):
            raise NotConfigured  # SIDECAR_ENABLED is off (switched off on purpose: no console warning)
        if not s.getbool("WARC_ENABLED"):
            raise NotConfigured  # sidecars need WARC capture (WARC_ENABLED) (switched off on purpose: no console warning)
        workers = s.getint("SIDECAR_WORKERS", -1)
        return cls(crawler, default_workers() if workers < 0 else workers)

    def spider_opened(self, spider: Any = None) -> None:
        """Start the workers now: importing the extractor takes seconds, which then
        overlap with the first fetches instead of delaying the first sidecar."""
        if self.workers > 0:
            self._ensure_pool().submit(warm_up, self.limits)

    def _ensure_pool(self) -> Executor:
        if self._pool is None:
            # forkserver: never fork a process that runs a reactor and threads.
            ctx = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        return self._pool

    def spider_closed(self, spider: Any = None) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    async def _extract(self, item: PageItem) -> tuple[dict[str, Any] | None, str | None]:
        args = (item.body, item.url, item.content_type, item.fetched_at, self.limits)
        if self.workers <= 0:  # the work is in the bounded worker process; wait off the reactor
            return await asyncio.to_thread(extract_page, *args)
        return await asyncio.wrap_future(self._ensure_pool().submit(extract_page, *args))

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        """Extract the page; queue its sidecar if it is an article."""
        if not isinstance(item, PageItem) or item.record_id is None or item.status != 200:
            return item
        service = getattr(self.crawler, "warc_service", None)
        if service is None:
            return item
        try:
            sidecar, error = await self._extract(item)
        except Exception:
            self.stats.inc_value("sidecar/errors")
            logger.exception("extraction failed on %s", item.url)
            return item
        if error is not None:
            self.stats.inc_value("sidecar/errors")
            logger.warning("no sidecar for %s: %s" if sidecar is None
                           else "extraction failed on %s: %s", item.url, error)
        if sidecar is None:
            return item
        if sidecar.get("is_article") is False and error is None:
            self.stats.inc_value("sidecar/not_article")
            return item
        if item.rendered:
            sidecar["rendered"] = True
            # The schema's place for it; the service merges this with the record's location.
            sidecar["capture"] = {**(sidecar.get("capture") or {}), "rendered": True}
        try:
            service.submit_sidecar(item.record_id, sidecar)
        except NewsarchiveError as exc:
            logger.error("%s", exc)
            return item
        self.stats.inc_value("sidecar/written" if error is None else "sidecar/error_sidecars")
        return item
