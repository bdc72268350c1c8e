"""The item pipeline that writes a sidecar for every archived article page.

The sidecar goes to the WARC writer service, which fills in where the page's
response record lies and writes it both to ``sidecars/NAME.sidecars.jsonl.gz``
and as a ``metadata`` record referring to the response. A page that cannot be
extracted is logged and counted; it never stops the crawl. Each page is
extracted under a time and a memory limit (:mod:`newsarchive.extract.bounded`:
``SIDECAR_TIME_LIMIT``, ``SIDECAR_MEMORY_LIMIT``, ``SIDECAR_MAX_BYTES``); a page
over them, or one the extractor fails on, gets a sidecar with ``extractor.error``
(stats ``sidecar/errors``).

Extraction is CPU work in Python: done on the reactor thread it would cap a
crawl's page rate (``benchmarks/README.md``). It runs in the bounded workers'
processes instead (``SIDECAR_WORKERS`` of them, one by default on a multi-core
machine), so fetching and extracting overlap; the crawl hands each page to a
free worker from a thread of its own and waits for the answer off the reactor.
Each worker is sent its next page while it extracts one (:data:`DEPTH`,
:mod:`newsarchive.extract.bounded`): handing over one page at a time, the worker
waited for the crawl process between any two pages, for the thread that had
to take the GIL from the busy reactor thread (a quarter of its time in a crawl
of the demo site, ``benchmarks/README.md``).
The page goes to the worker once, through the worker's pipe: no process pool
between them (a pool worker relaying each page to its bounded worker cost a
second copy of every body and sidecar, and a fork server, ``benchmarks/README.md``).
The workers die with the crawl (``PR_SET_PDEATHSIG``) and leave Ctrl-C to it.

Before the crawl fetches anything, the pipeline extracts the archived pages a
killed (or interrupted: :meth:`SidecarPipeline.stop_soon`) run left without a sidecar (found by the WARC service's reconcile scan,
:mod:`newsarchive.capture.reconcile`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scrapy import signals

from newsarchive.exceptions import NewsarchiveError
from newsarchive.extract.bounded import BoundedExtractor, Limits
from newsarchive.fetch.items import PageItem
from newsarchive.switches import require
from newsarchive.wiring import wiring_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

#: pages each worker holds at once: the one it extracts and the next (``BoundedExtractor.depth``)
DEPTH = 2


def extract_page(
    body: bytes, url: str, content_type: str | None, fetched_at: datetime | None,
    limits: Limits | None = None, extractor: BoundedExtractor | None = None,
) -> tuple[dict[str, Any] | None, str | None]:
    """Sidecar of one page and the one-line reason extraction failed, if it did: an
    error sidecar with that reason, or None when the page is not HTML at all.
    ``extractor``: the bounded worker to use (default: this process's for ``limits``)."""
    from newsarchive.extract.bounded import extraction_error, shared

    try:
        sidecar = (extractor or shared(limits or Limits())).extract(
            body, url, content_type=content_type, fetched_at=fetched_at)
    except NewsarchiveError as exc:
        return None, str(exc)
    return sidecar, extraction_error(sidecar)


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
        self._threads: ThreadPoolExecutor | None = None
        self._extractors: list[BoundedExtractor] = []
        self._free: queue.SimpleQueue[BoundedExtractor] = queue.SimpleQueue()
        self._inflight = 0
        self._stopping = False
        self._futures: set[Future[Any]] = set()
        self.wiring = wiring_of(crawler)
        self.wiring.sidecars = self  # for the crawl's stop rules
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SidecarPipeline:
        """Enabled by ``SIDECAR_ENABLED`` when WARC capture is on."""
        s = crawler.settings
        require(s, "SIDECAR_ENABLED", "WARC_ENABLED")  # sidecars need WARC capture
        workers = s.getint("SIDECAR_WORKERS", -1)
        return cls(crawler, default_workers() if workers < 0 else workers)

    async def spider_opened(self, spider: Any = None) -> None:
        """Start the workers now: importing the extractor takes seconds, which then
        overlap with the first fetches instead of delaying the first sidecar.
        Then extract what a killed run left without a sidecar; the crawl starts after."""
        self._ensure_workers()
        service = self.wiring.capture
        if service is None:
            return
        pages = list(service.reconciled.pages)
        for page in pages:
            service.adopt(page)
            fetched = datetime.fromisoformat(page.capture["fetched_at"].replace("Z", "+00:00"))
            await self.process_item(PageItem(
                url=page.url, status=200, body=page.body, content_type=page.content_type,
                record_id=page.refers_to, fetched_at=fetched,
                rendered=bool(page.capture.get("rendered")),
            ))
        if pages:
            self.stats.set_value("sidecar/reconciled", len(pages))
        service.settle()

    def _ensure_workers(self) -> ThreadPoolExecutor:
        """The bounded workers (started, warming up) and :data:`DEPTH` threads per
        worker to wait on them. ``SIDECAR_WORKERS`` 0 still extracts in one worker process (the
        limits need one); it is 0 on a one-core machine, where nothing overlaps."""
        if self._threads is None:
            for _ in range(max(self.workers, 1)):
                extractor = BoundedExtractor(self.limits, depth=DEPTH)
                extractor.start()
                self._extractors.append(extractor)
                for _ in range(DEPTH):
                    self._free.put(extractor)
            self._threads = ThreadPoolExecutor(max_workers=len(self._extractors) * DEPTH,
                                               thread_name_prefix="newsarchive-sidecar")
        return self._threads

    def _extract_with_free_worker(self, item: PageItem) -> tuple[dict[str, Any] | None, str | None]:
        extractor = self._free.get()  # DEPTH of each, one per thread: never waits
        try:
            return extract_page(item.body, item.url, item.content_type, item.fetched_at,
                                self.limits, extractor)
        finally:
            self._free.put(extractor)

    def spider_closed(self, spider: Any = None) -> None:
        """Stop the worker processes."""
        if self._inflight:
            self._abandon()
        threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=True, cancel_futures=True)
        for extractor in self._extractors:
            extractor.close()

    def abort(self) -> None:
        """Stop at once (a second Ctrl-C): drop pending pages, kill the workers."""
        self._abandon()
        self._stopping = True
        threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=False, cancel_futures=True)
        for extractor in self._extractors:
            extractor.kill()

    def _abandon(self) -> None:
        service = self.wiring.capture
        if service is not None:
            service.abandoned()

    async def _extract(self, item: PageItem) -> tuple[dict[str, Any] | None, str | None]:
        if self._stopping:
            raise asyncio.CancelledError("the crawl is stopping")
        future = self._ensure_workers().submit(self._extract_with_free_worker, item)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)
        result = await asyncio.wrap_future(future)
        if self._stopping and self._threads is None:  # aborted: the worker was killed under it
            raise asyncio.CancelledError("the crawl stopped at once")
        return result

    def stop_soon(self) -> None:
        """The crawl was asked to stop: extract nothing more in this run (the pages
        waiting are left to the next start, see the module docstring)."""
        self._stopping = True
        for future in list(self._futures):
            future.cancel()  # only those not running yet

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        """Extract the page; queue its sidecar if it is an article."""
        if not isinstance(item, PageItem) or item.record_id is None or item.status != 200:
            return item
        service = self.wiring.capture
        if service is None:
            return item
        self._inflight += 1
        try:
            sidecar, error = await self._extract(item)
        except (asyncio.CancelledError, RuntimeError) as exc:
            # The crawl is stopping (workers shut down): the next start extracts it.
            self._abandon()
            logger.info("no sidecar for %s in this run: %s", item.url, exc or type(exc).__name__)
            return item
        except Exception:
            self.stats.inc_value("sidecar/errors")
            logger.exception("extraction failed on %s", item.url)
            return item
        finally:
            self._inflight -= 1
        if sidecar is None:  # not a page to extract (binary or plain data): no failure
            self.stats.inc_value("sidecar/not_extracted")
            logger.info("no sidecar for %s: %s", item.url, error)
            return item
        if error is not None:  # extraction raised or ran over its limits: a failed page
            self.stats.inc_value("sidecar/errors")
            logger.warning("extraction failed on %s: %s", item.url, error)
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
