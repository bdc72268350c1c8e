"""When to render: ``RENDER_MODE`` as a downloader and a spider middleware.

:class:`RenderModeMiddleware` (downloader, priority 580) decides per page
request -- one the ``news`` spider sends to ``parse_page``, recognised by its
``na_hops`` meta, so robots.txt, sitemaps, feeds and embeds are never rendered:

- ``always``: the request goes straight to the browser;
- ``auto``: the page is fetched plainly (and archived by the capture
  middleware at 950, as usual); at 580 -- after HttpCompressionMiddleware
  (590) decoded it -- :func:`~newsarchive.fetch.render.detect.render_reason`
  looks at the HTML, and only a page without its story is rendered, by the
  render handler, in place of the plain response. Other pages pass on
  untouched: a static site costs one lxml parse per page. A page that fails
  to render keeps its plain response (and a warning in the log);
- ``never``: the middleware switches itself off.

A request carrying ``meta["na_render"]`` (True or False) is left as it is,
so a spider or site file can force either way per request.

:class:`RenderedItemMiddleware` (spider) marks the
:class:`~newsarchive.fetch.items.PageItem` of a rendered response
``rendered=True``, so the sidecar says where its text came from, without the
spider having to know about browsers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import (
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    NotConfigured,
)

from newsarchive import meta
from newsarchive.fetch.items import PageItem
from newsarchive.fetch.render.config import RenderConfig
from newsarchive.fetch.render.detect import render_reason
from newsarchive.fetch.render.handler import RENDER_META
from newsarchive.wiring import wiring_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

logger = logging.getLogger(__name__)

PAGE_META = meta.HOPS


def is_page_request(request: Request) -> bool:
    """A request for a page the spider will treat as a possible article."""
    return PAGE_META in request.meta


class RenderModeMiddleware:
    """Sends page requests to the browser: all of them (``always``) or those that need it (``auto``)."""

    def __init__(self, crawler: Crawler, config: RenderConfig) -> None:
        self.crawler = crawler
        self.config = config

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RenderModeMiddleware:
        """Off when ``RENDER_MODE`` is ``never``."""
        config = RenderConfig.from_settings(crawler.settings)
        if config.mode == "never":
            # Switched off by its own setting (`crawl --render never`), as the user
            # asked: no message, or Scrapy would warn "Disabled ..." on every such crawl.
            raise NotConfigured
        return cls(crawler, config)

    def process_request(self, request: Request, spider: Any = None) -> None:
        """``always``: mark page requests for the browser."""
        if self.config.mode == "always" and RENDER_META not in request.meta and is_page_request(request):
            request.meta[RENDER_META] = True
        return None

    async def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        """``auto``: render a plainly fetched page that has no story; else pass it on."""
        if (
            self.config.mode != "auto"
            or RENDER_META in request.meta
            or response.status != 200
            or not is_page_request(request)
            or b"html" not in response.headers.get(b"Content-Type", b"").lower()
        ):
            return response
        reason = render_reason(response.body)
        if reason is None:
            self.crawler.stats.inc_value("render/auto/static")
            return response
        logger.debug("rendering %s: %s", response.url, reason)
        self.crawler.stats.inc_value(f"render/auto/{reason.replace(' ', '_')}")
        request.meta[RENDER_META] = True
        render_request = request.replace(url=response.url, dont_filter=True)
        handler = wiring_of(self.crawler).renderer
        if handler is None:  # another download handler is configured: go round again
            return render_request
        # Rendered here rather than re-scheduled: a second trip through the
        # scheduler would meet the dupefilter and the incremental filter, which
        # rightly think this URL was just fetched.
        try:
            rendered = await handler.download_request(render_request)
        except (DownloadTimeoutError, DownloadFailedError, IgnoreRequest) as exc:  # IgnoreRequest: egress
            logger.warning("%s; keeping its static HTML", exc)
            request.meta[RENDER_META] = False
            return response
        # The engine ties the response to the original request: share what the handler set.
        request.meta.update(render_request.meta)
        return rendered


class RenderedItemMiddleware:
    """Marks the items of rendered responses ``rendered=True``."""

    @staticmethod
    def _mark(response: Response, item: Any) -> Any:
        if isinstance(item, PageItem) and "rendered" in response.flags:
            item.rendered = True
        return item

    def process_spider_output(self, response: Response, result: Iterable[Any], spider: Any = None) -> Iterable[Any]:
        """Mark, passing everything through."""
        for item in result:
            yield self._mark(response, item)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Any = None
    ) -> AsyncIterator[Any]:
        """Mark, passing everything through (async spiders)."""
        async for item in result:
            yield self._mark(response, item)
