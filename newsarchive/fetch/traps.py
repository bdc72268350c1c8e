"""Redirect loops and over-long URLs, counted like every other failed fetch.

Scrapy stops both traps on its own -- :class:`RedirectMiddleware` (and
:class:`MetaRefreshMiddleware`) give up after ``REDIRECT_MAX_TIMES`` hops,
:class:`UrlLengthMiddleware` drops links over ``URLLENGTH_LIMIT`` -- but only
with a debug or info log line: the crawl's summary, exit code and
``crawl.log`` never learnt of them. These subclasses keep Scrapy's behaviour
and add the accounting of :mod:`newsarchive.fetch.outcomes`:

* a redirect chain cut at the limit is a failed fetch (``fetch/failed/redirects``,
  crawl.log -4002, Heritrix's "too many hops"), and the run is ``partial``: the
  page asked for was never reached. Each hop's response is archived as it came.
* a link over the length limit is a refusal (``fetch/refused/url_length``,
  crawl.log -7, Heritrix's "URI unsupported or illegal"): it is the operator's
  policy, like robots.txt, and does not make the run partial.

The exception raised from ``process_response`` never reaches the downloader
middlewares' ``process_exception`` (Scrapy calls those for download errors
only), which is why the counting sits here rather than in
:class:`~newsarchive.fetch.outcomes.FetchOutcomeMiddleware`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.urllength import UrlLengthMiddleware

from newsarchive.fetch.outcomes import FetchFailed, log_outcome

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

logger = logging.getLogger(__name__)


def _redirects_failed(crawler: Crawler, request: Request, exc: IgnoreRequest) -> FetchFailed:
    """Count and log a chain cut at ``REDIRECT_MAX_TIMES``; the exception to raise."""
    hops = len(request.meta.get("redirect_urls", ())) + 1
    first = request.meta.get("redirect_urls", [request.url])[0]
    reason = f"{exc}: {hops} hops from {first}"
    assert crawler.stats is not None
    crawler.stats.inc_value("fetch/failed/redirects")
    log_outcome(crawler, "redirects", request.url, reason)
    logger.info("failed (redirects): %s", reason)
    return FetchFailed(f"redirects: {reason}")


class _CountsRedirectLimit:
    """Mixin over a Scrapy redirect middleware: a chain cut at the limit is a failed fetch."""

    crawler: Crawler

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        try:
            return super().process_response(request, response)  # type: ignore[misc]
        except FetchFailed:
            raise
        except IgnoreRequest as exc:
            if "max redirections" not in str(exc):
                raise
            raise _redirects_failed(self.crawler, request, exc) from None


class CountedRedirectMiddleware(_CountsRedirectLimit, RedirectMiddleware):
    """Scrapy's 3xx redirects; a chain over the limit counts as a failed fetch."""


class CountedMetaRefreshMiddleware(_CountsRedirectLimit, MetaRefreshMiddleware):
    """Scrapy's ``<meta http-equiv=refresh>`` redirects, counted the same way."""


class CountedUrlLengthMiddleware(UrlLengthMiddleware):
    """Scrapy's link-length limit; each link dropped is a refusal, counted and logged."""

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        kept = super().get_processed_request(request, response)
        if kept is None:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("fetch/refused/url_length")
            log_outcome(self.crawler, "url_length", request.url[:200] + "...",
                        f"URL of {len(request.url)} characters over URLLENGTH_LIMIT {self.maxlength}")
        return kept
