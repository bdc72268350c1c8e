"""What became of every request: failures counted by kind and logged, Heritrix style.

:class:`FetchOutcomeMiddleware` sits in the downloader chain just below
Scrapy's RetryMiddleware (550), so it sees a request's *final* outcome: a
download exception that retries did not cure, an HTTP error response that
stayed one, or a request refused before download (robots.txt, the egress
policy). Each failure:

* counts in the stats as ``fetch/failed/<kind>`` (dns, connect, connect_lost,
  timeout, http, render, other) or ``fetch/refused/<kind>`` (robots,
  blocked), which the summary and ``--json`` show;
* gets one line in ``DIR/logs/crawl.log`` with Heritrix's code for it (a
  response archived, 5xx included, already has its line from the WARC writer):
  -1 DNS lookup failed, -2 connect failed, -3 connection lost, -4 timeout,
  -5 other error (a render failure included), -4002 too many redirects
  (:mod:`newsarchive.fetch.traps`), -7 a link over ``URLLENGTH_LIMIT``,
  -9998 robots.txt, -5003 blocked by policy (an ``IgnoreRequest`` that says
  "blocked" or "egress");
  the reason follows in a few words. Other ``IgnoreRequest``s (the crawl
  state's "not due", a duplicate) are no fetch attempt and pass unlogged;
* is re-raised as :class:`FetchFailed` (an ``IgnoreRequest``), so Scrapy does
  not print a traceback for what is a fact about the site, not a bug.

A failed fetch makes the run's outcome ``partial`` (or ``failed`` when no
page was fetched at all); a refusal is the site's or the operator's policy and
does not. A 4xx response is the site's answer, archived as it came: it is no
failure of the crawl.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import IgnoreRequest, NotConfigured

from newsarchive.wiring import wiring_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

logger = logging.getLogger(__name__)

#: kind -> Heritrix crawl.log status code (org.archive.modules.fetcher.FetchStatusCodes)
CODES = {
    "dns": -1,
    "connect": -2,
    "connect_lost": -3,
    "timeout": -4,
    "render": -5,
    "other": -5,
    "redirects": -4002,
    "blocked": -5003,
    "url_length": -7,
    "robots": -9998,
}
FAILURE_KINDS = ("dns", "connect", "connect_lost", "timeout", "http", "render", "redirects", "other")
REFUSAL_KINDS = ("robots", "blocked", "url_length")

_BY_NAME = {
    # Scrapy's own download errors (scrapy.exceptions, 2.13+) ...
    "CannotResolveHostError": "dns",
    "DownloadConnectionRefusedError": "connect",
    "DownloadTimeoutError": "timeout",
    "DownloadFailedError": "connect_lost",
    "ResponseDataLossError": "connect_lost",
    "UnsupportedURLSchemeError": "other",
    # ... and Twisted's, which older paths still raise
    "DNSLookupError": "dns",
    "ConnectionRefusedError": "connect",
    "ConnectError": "connect",
    "NoRouteError": "connect",
    "TCPTimedOutError": "connect",
    "SSLError": "connect",
    "ConnectionLost": "connect_lost",
    "ConnectionDone": "connect_lost",
    "ResponseNeverReceived": "connect_lost",
    "ResponseFailed": "connect_lost",
    "PotentialDataLoss": "connect_lost",
    "TimeoutError": "timeout",
    "UserTimeoutError": "timeout",
}


def log_outcome(crawler: Crawler, kind: str, url: str, reason: str) -> None:
    """The crawl.log line of a failed or refused request (the stats count it)."""
    service = wiring_of(crawler).capture
    if service is not None and kind in CODES:
        service.log_failure(CODES[kind], url, kind, reason)


class FetchFailed(IgnoreRequest):
    """A request that failed for good, already counted and logged."""


def failure_kind(exc: BaseException) -> str:
    """The kind of a download exception (see the module docstring)."""
    if isinstance(exc, IgnoreRequest):
        text = str(exc).lower()
        if "robots.txt" in text:
            return "robots"
        return "blocked" if ("block" in text or "egress" in text) else "skipped"
    module = type(exc).__module__ or ""
    if "render" in module or "playwright" in module:
        return "render"
    for cls in type(exc).__mro__:
        kind = _BY_NAME.get(cls.__name__)
        if kind is not None:
            return kind
    reasons = getattr(exc, "reasons", None)  # ResponseNeverReceived wraps the real cause
    if reasons:
        inner = getattr(reasons[0], "value", None)
        if isinstance(inner, BaseException):
            return failure_kind(inner)
    return "other"


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text


class FetchOutcomeMiddleware:
    """Counts and logs failed and refused requests (see the module docstring)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FetchOutcomeMiddleware:
        """Enabled by ``FETCH_OUTCOMES_ENABLED``."""
        if not crawler.settings.getbool("FETCH_OUTCOMES_ENABLED"):
            raise NotConfigured  # switched off on purpose: no console warning
        return cls(crawler)

    def _log(self, kind: str, url: str, reason: str) -> None:
        log_outcome(self.crawler, kind, url, reason)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        """Count a final 5xx (its record is archived and logged by the WARC writer)."""
        if response.status >= 500:
            self.stats.inc_value("fetch/failed/http")
            logger.info("HTTP %d for %s", response.status, response.url)
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> None:
        """Count, log and quiet a final failure; pass anything else on."""
        if isinstance(exception, FetchFailed):
            return None
        from newsarchive.fetch.egress_scrapy import refused_lookup

        if refused_lookup(request.url, exception):
            return None  # the egress middleware (nearer the engine) logs it as blocked
        kind = failure_kind(exception)
        if kind == "skipped":  # the crawl state's "not due", offsite...: no fetch attempt
            return None
        reason = _reason(exception)
        if kind in REFUSAL_KINDS:
            self.stats.inc_value(f"fetch/refused/{kind}")
            self._log(kind, request.url, reason)
            return None  # already an IgnoreRequest: Scrapy logs it at debug level
        self.stats.inc_value(f"fetch/failed/{kind}")
        self._log(kind, request.url, reason)
        logger.info("failed (%s): %s: %s", kind, request.url, reason)
        raise FetchFailed(f"{kind}: {reason}")


def outcome_counts(stats: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """``(failures by kind, refusals by kind)`` from a crawl's stats."""
    failed = {k: int(stats.get(f"fetch/failed/{k}", 0)) for k in FAILURE_KINDS}
    refused = {k: int(stats.get(f"fetch/refused/{k}", 0)) for k in REFUSAL_KINDS}
    return {k: v for k, v in failed.items() if v}, {k: v for k, v in refused.items() if v}
