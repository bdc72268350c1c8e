"""Incremental crawling as two Scrapy downloader middlewares around the crawl state.

* :class:`IncrementalFilterMiddleware` (priority 110, just after robots.txt)
  drops requests the collection does not need: a URL already requested in
  this run under another spelling (``?utm_source=``, ``#frag``...), and a URL
  the crawl state knows and the revisit policy says is not due. Dropped early,
  so they are not counted as downloads. Stats: ``state/skipped``,
  ``state/skipped/<reason>``, ``state/duplicate``, ``state/fetch/<reason>``.
* :class:`IncrementalRecordMiddleware` (priority 945, between the WARC capture
  at 950 and decompression at 590) records each response as it arrives, with
  the digest of the body exactly as the WARC record stores it. Stats:
  ``state/new``, ``state/changed``, ``state/unchanged``; it sets
  ``meta["na_new"]`` for the spider, which counts ``state/new_articles``.

Both share one :class:`~newsarchive.discover.state.CrawlState`, kept on
the crawl's wiring (:mod:`newsarchive.wiring`), so the spider can record
``rel=canonical`` aliases.
The spider tags each request with ``meta["na_kind"]`` (see
:mod:`newsarchive.discover.revisit`) and, from sitemaps and feeds,
``meta["na_lastmod"]`` and ``meta["na_published"]``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured

from newsarchive import meta
from newsarchive.collection import Layout
from newsarchive.digests import sha1_digest
from newsarchive.discover.canonical import canonical_url
from newsarchive.discover.revisit import RevisitPolicy
from newsarchive.discover.state import CrawlState
from newsarchive.exceptions import NewsarchiveError
from newsarchive.wiring import wiring_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

logger = logging.getLogger(__name__)

KIND_META = meta.KIND
LASTMOD_META = meta.LASTMOD
PUBLISHED_META = meta.PUBLISHED
KEY_META = meta.STATE_KEY
NEW_META = meta.NEW
DEDUP_KINDS = frozenset({"article", "page", "embed"})


def request_kind(request: Request) -> str:
    """The request's kind: set by the spider, else ``robots`` or ``page``."""
    kind = request.meta.get(KIND_META)
    if kind:
        return str(kind)
    return "robots" if urlsplit(request.url).path == "/robots.txt" else "page"


def crawl_state(crawler: Crawler) -> CrawlState:
    """The crawl's shared state, opened on first use and closed with the spider."""
    wiring = wiring_of(crawler)
    state = wiring.state
    if state is None:
        if crawler.settings.get("FRONTIER_URL"):
            # Shared by every worker of the frontier (newsarchive.discover.redis_state).
            from newsarchive.discover.redis_state import open_crawl_state

            state = open_crawl_state(crawler.settings)
        else:
            path = crawler.settings.get("STATE_DB") or str(
                Layout(Path(crawler.settings.get("WARC_DIR"))).crawl_db
            )
            state = CrawlState(Path(path))
        wiring.state = state

        def archive_first() -> None:
            # A fetch is durable in the state only once its record is on disk.
            service = wiring.capture
            if service is not None:
                with contextlib.suppress(NewsarchiveError):  # reported by the capture
                    service.flush(timeout=30)

        state.before_commit = archive_first

        def close(spider: Any = None, reason: str = "") -> None:
            crawler.stats.set_value("state/urls_known", len(state))
            state.close()

        crawler.signals.connect(close, signal=signals.spider_closed, weak=False)
    return state


def _enabled(crawler: Crawler) -> None:
    if not crawler.settings.getbool("STATE_ENABLED"):
        raise NotConfigured  # STATE_ENABLED is off (switched off on purpose: no console warning)
    if not crawler.settings.getbool("WARC_ENABLED"):
        # Remembering fetches that were not archived would make the next
        # archiving crawl skip them.
        raise NotConfigured  # nothing is archived (WARC_ENABLED is off), so nothing is remembered (switched off on purpose: no console warning)


class IncrementalFilterMiddleware:
    """Drops requests for URLs that are duplicates in this run or not due."""

    def __init__(self, crawler: Crawler, state: CrawlState, policy: RevisitPolicy) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.state = state
        self.policy = policy
        self.seen: set[str] | Any = set()
        if crawler.settings.get("FRONTIER_URL"):  # one run, many workers: a shared set
            from newsarchive.discover.redis_state import open_run_seen

            self.seen = open_run_seen(crawler.settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalFilterMiddleware:
        """Enabled by ``STATE_ENABLED``; the policy comes from ``STATE_REVISIT_*``."""
        _enabled(crawler)
        return cls(crawler, crawl_state(crawler), RevisitPolicy.from_settings(crawler.settings))

    def process_request(self, request: Request, spider: Any = None) -> None:
        """Let the request through, or raise :class:`IgnoreRequest`."""
        key = self.state.resolve(canonical_url(request.url))
        request.meta[KEY_META] = key
        kind = request_kind(request)
        # Only pages and embeds are deduplicated by canonical URL. Robots.txt in
        # particular must pass: Scrapy's robots middleware fetches its own copy,
        # and dropping it would leave every URL allowed.
        if kind in DEDUP_KINDS and key in self.seen and not request.dont_filter:
            self.stats.inc_value("state/duplicate")
            raise IgnoreRequest(f"already requested in this run: {key}")
        decision = self.policy.decide(
            kind, self.state.get(key), time.time(), request.meta.get(LASTMOD_META)
        )
        self.seen.add(key)
        if not decision.fetch:
            self.stats.inc_value("state/skipped")
            self.stats.inc_value(f"state/skipped/{decision.reason}")
            logger.debug("not due (%s, %s): %s", kind, decision.reason, request.url)
            raise IgnoreRequest(f"known and not due ({decision.reason}): {request.url}")
        self.stats.inc_value(f"state/fetch/{decision.reason}")
        return None


class IncrementalRecordMiddleware:
    """Records every response in the crawl state, with its WARC payload digest."""

    def __init__(self, crawler: Crawler, state: CrawlState) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.state = state

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalRecordMiddleware:
        """Enabled by ``STATE_ENABLED``."""
        _enabled(crawler)
        return cls(crawler, crawl_state(crawler))

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        """Remember the fetch; the response goes on unchanged."""
        # The filter computed the key before any redirect; a redirected
        # response answers for its own URL.
        key = request.meta.get(KEY_META)
        if key is None or response.url != request.url:
            key = self.state.resolve(canonical_url(response.url))
        kind = request_kind(request)
        result = self.state.record_fetch(
            key,
            kind=kind,
            now=time.time(),
            status=response.status,
            digest=sha1_digest(response.body),
            fetched_url=response.url,
            lastmod=request.meta.get(LASTMOD_META),
            published=request.meta.get(PUBLISHED_META),
        )
        # The spider counts new *articles* (state/new_articles): only it knows,
        # from the page itself, whether a page found by a link is one.
        request.meta[NEW_META] = result.new
        if result.new:
            self.stats.inc_value("state/new")
        elif result.changed:
            self.stats.inc_value("state/changed")
        else:
            self.stats.inc_value("state/unchanged")
        return response
