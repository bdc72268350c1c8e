"""The download handler that renders pages in Chromium, in Scrapy's own slot.

Requests with ``meta["na_render"]`` go to the browser; every other request
goes to Scrapy's HTTP/1.1 handler (as :mod:`newsarchive.fetch.body` extends
it: large bodies spooled, cut bodies kept), and the browser is launched only
when the first page needs it -- a static site never starts one.

Why our handler and not scrapy-playwright's (0.0.48, read in full):
its handler opens a new tab per request and routes every sub-request
through Python with ``page.route("**")`` (turning off the HTTP cache), far
slower than bare Playwright with reused tabs (``benchmarks/README.md``); it
also has no hook to archive each sub-response. This handler keeps the
same shape -- a subclass of ``HTTP11DownloadHandler``, settings parsed once
into a typed config, a semaphore over open pages -- with reused, recycled tabs
(:mod:`.pool`) and capture (:mod:`.recorder`). ``benchmarks/render.py``
measures it against bare Playwright.

What a rendered request leaves behind:
- a ``response``/``request`` pair for every response the browser received
  off the network (document, scripts, styles, images, fonts, XHR), through
  the WARC service; what the browser's cache answered is not archived again
  (:mod:`.recorder`);
- the rendered DOM as a ``resource`` record (``urn:dom:URL``, ``text/html``,
  ``WARC-Concurrent-To`` the document's response), and with
  ``RENDER_SCREENSHOT`` a full-page PNG (``urn:newsarchive:screenshot:URL``);
- a Scrapy response whose body is the DOM (UTF-8), flagged ``"rendered"``,
  with ``meta["warc_ticket"]`` the document's ticket, and ``meta["warc_skip"]``
  set so the capture middleware does not archive the DOM as if it were sent.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DownloadFailedError, DownloadTimeoutError
from scrapy.http import HtmlResponse

from newsarchive import meta
from newsarchive.fetch import egress_browser
from newsarchive.fetch.body import KeepingDownloadHandler
from newsarchive.fetch.exchange import Exchange
from newsarchive.fetch.render.config import RenderConfig
from newsarchive.fetch.render.recorder import FROM_CACHE_HEADER, UNREAD
from newsarchive.wiring import wiring_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

    from newsarchive.fetch.render.page import RenderedPage
    from newsarchive.fetch.render.pool import BrowserPool

logger = logging.getLogger(__name__)

SKIP_META = meta.WARC_SKIP
TICKET_META = meta.WARC_TICKET

RENDER_META = meta.RENDER
DOM_CONTENT_TYPE = "text/html; charset=utf-8"
# Headers of the document that do not describe the DOM we hand Scrapy: it is
# decoded, de-chunked UTF-8 of another length. Kept, Content-Encoding made
# HttpCompressionMiddleware gunzip the DOM (BadGzipFile on every gzip page).
_NOT_THE_DOM = (b"content-type", b"content-length", b"content-encoding", b"transfer-encoding")
NOT_A_PAGE = "Download is starting"  # Playwright's error for a navigation that became a download
BLOCKED_FAILURES = ("inspector", "net::ERR_BLOCKED_BY_CLIENT")


class RenderDownloadHandler(KeepingDownloadHandler):
    """HTTP(S) download handler that renders ``na_render`` requests in Chromium."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.crawler = crawler
        self.config = RenderConfig.from_settings(crawler.settings)
        self._browsers: BrowserPool | None = None  # not _pool: HTTP11DownloadHandler has one
        self.wiring = wiring_of(crawler)
        self.wiring.renderer = self  # for RenderModeMiddleware

    async def download_request(self, request: Request) -> Response:
        """Render ``na_render`` requests; pass the others to Scrapy's HTTP handler."""
        if not request.meta.get(RENDER_META) or self.config.mode == "never":
            return await super().download_request(request)
        return await self._render(request)

    def _sink(self, exchange: Exchange) -> Any:
        service = self.wiring.capture
        self.crawler.stats.inc_value("render/responses")
        if FROM_CACHE_HEADER in exchange.warc_headers:  # seen in the browser's cache, not on the wire
            self.crawler.stats.inc_value("render/from_cache")
        cap = self._default_maxsize
        if cap and len(exchange.body) > cap:  # as the plain path does (newsarchive.fetch.body)
            exchange.body = exchange.body[:cap]
            exchange.payload_digest = None  # the recorder's was of the whole body
            exchange.warc_headers["WARC-Truncated"] = "length"
            self.crawler.stats.inc_value("warc/truncated/length")
        return service.submit(exchange) if service is not None else None

    def _pool_for_crawl(self) -> BrowserPool:
        if self._browsers is None:
            from newsarchive.fetch.render.pool import BrowserPool

            config = egress_browser.route(self.crawler, self.config)  # every connection via the egress proxy
            self._browsers = BrowserPool(config, self.crawler.stats, sink=self._sink)
        return self._browsers

    async def _render(self, request: Request) -> Response:
        from newsarchive.fetch.render.page import render

        request.meta[SKIP_META] = True  # we archive what the browser received ourselves
        pool = self._pool_for_crawl()
        page: RenderedPage | None = None
        async with pool.tab(request.url) as lease:
            kills = pool.memory_kills
            try:
                page = await asyncio.wait_for(
                    render(
                        lease.recorder,
                        request.url,
                        sink=self._sink,
                        idle_ms=self.config.idle_ms,
                        timeout=self.config.timeout,
                        screenshot=self.config.screenshot,
                    ),
                    self.config.timeout,
                )
            except TimeoutError:
                lease.healthy = False
                # A page that did not render is not rendered again (RetryMiddleware):
                # a timeout, a crashed or killed tab, a redirect loop or a download
                # cost up to RENDER_TIMEOUT each time and fail the same way again.
                request.meta["dont_retry"] = True
                self.crawler.stats.inc_value("render/timeouts")
                raise DownloadTimeoutError(
                    f"rendering {request.url} took more than {self.config.timeout:g} s (RENDER_TIMEOUT)"
                ) from None
            except Exception as exc:
                lease.healthy = False
                egress_browser.raise_if_refused(self.crawler, request.url, exc,
                                                lease.recorder.requested)
                why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                if NOT_A_PAGE not in why:
                    request.meta["dont_retry"] = True
                    self.crawler.stats.inc_value("render/failed")
                    if pool.memory_kills > kills and "crash" in why.lower():
                        why = f"its tab went over RENDER_TAB_MEMORY_MB ({self.config.tab_memory_mb} MB) and was killed"
                    raise DownloadFailedError(f"rendering {request.url} failed: {why}") from exc
            finally:
                egress_browser.report(self.crawler, lease.recorder.requested)
        if page is None:
            # Not a page (a PDF, a video...): Chromium would save it as a file.
            # Fetched plainly instead, and archived by the capture middleware.
            self.crawler.stats.inc_value("render/not_a_page")
            request.meta.pop(SKIP_META, None)
            return await super().download_request(request)
        # The tab is free: let a render waiting for it send its navigation
        # before this page goes through Scrapy, so the browser is not idle
        # while Python parses and archives (one tab: ~5% of the rate).
        await asyncio.sleep(0)
        self.crawler.stats.inc_value("render/pages")
        if page.cached:
            self.crawler.stats.inc_value("render/cache_hits", page.cached)
        # Chromium reports a request refused by Network.setBlockedURLs as failed by "inspector".
        self.crawler.stats.inc_value("render/blocked", sum(
            1 for why in page.failed.values() if why in BLOCKED_FAILURES
        ))
        # Answers the browser got but would not hand over (DevTools keeps bodies
        # up to a size): not archived, so counted and named in the log.
        unread = [url for url, why in page.failed.items() if why.startswith(UNREAD)]
        if unread:
            self.crawler.stats.inc_value("render/bodies_unavailable", len(unread))
            logger.warning("%s: %d responses the browser received could not be read, not archived "
                           "(first: %s)", request.url, len(unread), unread[0])
        # What the page loaded is archived already: the spider's embed pass skips it.
        request.meta[meta.BROWSER_LOADED] = page.loaded
        dom = page.dom.encode("utf-8")
        self._archive_dom(request, page, dom)
        return self._response(request, page, dom)

    def _archive_dom(self, request: Request, page: RenderedPage, dom: bytes) -> None:
        ticket = page.document
        service = self.wiring.capture
        if ticket is None or service is None:
            logger.warning("no archived document for %s; its DOM is not archived", request.url)
            return
        request.meta[TICKET_META] = ticket
        service.submit_record(
            f"urn:dom:{page.url}", ticket.record_id, dom, DOM_CONTENT_TYPE, "resource"
        )
        if page.screenshot is not None:
            service.submit_record(
                f"urn:newsarchive:screenshot:{page.url}", ticket.record_id, page.screenshot, "image/png", "resource"
            )

    def _response(self, request: Request, page: RenderedPage, dom: bytes) -> Response:
        headers = [(k, v) for k, v in page.headers if k.lower() not in _NOT_THE_DOM]
        headers.append((b"Content-Type", DOM_CONTENT_TYPE.encode("ascii")))
        return HtmlResponse(
            url=page.url,
            status=page.status,
            headers=headers,
            body=dom,
            encoding="utf-8",
            request=request,
            flags=["rendered"],
        )

    async def close(self) -> None:
        """Close Scrapy's connections, then the browser (nothing is left running)."""
        try:
            await super().close()
        finally:
            if self._browsers is not None:
                await self._browsers.close()
            egress_browser.close(self.crawler)
