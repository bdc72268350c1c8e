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

A re-check of a page whose last capture had an ``ETag`` or ``Last-Modified``
is conditional (``If-None-Match`` / ``If-Modified-Since``, stat
``state/conditional``); a ``304`` answer counts as unchanged
(``state/not_modified``) and is archived as a server-not-modified revisit of
that capture, as Heritrix does.

Both share one :class:`~newsarchive.discover.state.CrawlState`, kept on
the crawl's wiring (:mod:`newsarchive.wiring`), so the spider can record
``rel=canonical`` aliases.
The spider tags each request with ``meta["na_kind"]`` (see
:mod:`newsarchive.discover.revisit`) and, from sitemaps and feeds,
``meta["na_lastmod"]`` and ``meta["na_published"]``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest

from newsarchive import meta
from newsarchive.digests import sha1_digest
from newsarchive.discover.backlog import Listed
from newsarchive.discover.canonical import canonical_url
from newsarchive.discover.revisit import RevisitPolicy, UrlRecord
from newsarchive.discover.state import CrawlState
from newsarchive.exceptions import NewsarchiveError
from newsarchive.layout import Layout
from newsarchive.switches import require
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


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def request_kind(request: Request) -> str:
    """The request's kind: set by the spider, else ``robots`` or ``page``."""
    kind = request.meta.get(KIND_META)
    if kind:
        return str(kind)
    return "robots" if urlsplit(request.url).path == "/robots.txt" else "page"


def crawl_state(crawler: Crawler) -> CrawlState:
    """The crawl's shared state, opened on first use and closed with the spider."""
    wiring = wiring_of(crawler)
    state: CrawlState | None = wiring.state
    if state is None:
        if crawler.settings.get("FRONTIER_URL"):
            # Shared by every worker of the frontier (newsarchive.discover.redis_state).
            from newsarchive.discover.redis_state import open_crawl_state

            # the same methods as CrawlState's, over Redis hashes
            state = cast("CrawlState", open_crawl_state(crawler.settings))
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


def url_mark(key: str) -> int:
    """A 64-bit hash of a canonical URL, for the set of URLs requested in this run.

    An int of the set costs about 60 bytes against 150 for the URL itself, and the
    set grows with every URL of the crawl (issue #19). Two URLs of one crawl share
    a mark with odds of about n²/2⁶⁵: 3·10⁻⁸ at a million URLs; the loser would be
    taken for a duplicate and wait for the next run.
    """
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big")


def due_listed(
    state: CrawlState, policy: RevisitPolicy, stats: Any, listed: Sequence[Listed],
    now: float | None = None,
) -> list[Listed]:
    """The pages of ``listed`` (from a sitemap) worth a request: new or due.

    Those known and not due are counted as skipped, as the filter middleware
    would count them, and never become Requests: a re-crawl of a large site
    then costs a batched lookup per listed URL, not a request through the
    scheduler and the middlewares (issue #19). The filter still decides on
    what passes (duplicates in this run, robots.txt come after).
    """
    when = time.time() if now is None else now
    keys = [canonical_url(entry.url) for entry in listed]
    aliases = state.resolve_many(keys)
    keys = [aliases.get(key, key) for key in keys]
    known = state.get_many(keys)
    due: list[Listed] = []
    for entry, key in zip(listed, keys, strict=True):
        record = known.get(key)
        if record is not None:
            decision = policy.decide(entry.kind, record, when, entry.lastmod)
            if not decision.fetch:
                stats.inc_value("state/skipped")
                stats.inc_value(f"state/skipped/{decision.reason}")
                continue
        due.append(entry)
    return due


def _enabled(crawler: Crawler) -> None:
    # Remembering fetches that were not archived (WARC_ENABLED off) would make
    # the next archiving crawl skip them.
    require(crawler.settings, "STATE_ENABLED", "WARC_ENABLED")


class IncrementalFilterMiddleware:
    """Drops requests for URLs that are duplicates in this run or not due."""

    def __init__(self, crawler: Crawler, state: CrawlState, policy: RevisitPolicy) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.state = state
        self.policy = policy
        # 64-bit hashes of the keys requested in this run; with a frontier, one set
        # shared by every worker of the run
        self.seen: set[int] | Any = set()
        if crawler.settings.get("FRONTIER_URL"):
            from newsarchive.discover.redis_state import open_run_seen

            self.seen = open_run_seen(crawler.settings)
        # Conditional re-checks (STATE_CONDITIONAL); a page every request of which the
        # browser renders is not: Chromium's answer to a 304 is no page.
        self.conditional_requests = (crawler.settings.getbool("STATE_CONDITIONAL")
                                     and crawler.settings.get("RENDER_MODE") != "always")

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
        mark = url_mark(key)
        if kind in DEDUP_KINDS and mark in self.seen and not request.dont_filter:
            self.stats.inc_value("state/duplicate")
            raise IgnoreRequest(f"already requested in this run: {key}")
        record = self.state.get(key)
        decision = self.policy.decide(kind, record, time.time(), request.meta.get(LASTMOD_META))
        self.seen.add(mark)
        if not decision.fetch:
            self.stats.inc_value("state/skipped")
            self.stats.inc_value(f"state/skipped/{decision.reason}")
            logger.debug("not due (%s, %s): %s", kind, decision.reason, request.url)
            raise IgnoreRequest(f"known and not due ({decision.reason}): {request.url}")
        self.stats.inc_value(f"state/fetch/{decision.reason}")
        self.conditional(request, kind, record)
        return None

    def conditional(self, request: Request, kind: str, record: UrlRecord | None) -> None:
        """Make a re-check conditional on what the last capture's validators were.

        Only re-checks of pages and embeds whose last answer was archived whole
        (200, or a 304 to an earlier re-check): fronts, feeds and sitemaps are
        parsed for links on every run, and a rendered page goes to the browser.
        The capture turns a ``304`` into a server-not-modified revisit of the
        capture whose payload digest the state holds.
        """
        if (
            not self.conditional_requests
            or kind not in DEDUP_KINDS
            or record is None
            or record.digest is None
            or record.last_status not in (200, 304)
            or not (record.etag or record.last_modified)
            or b"If-None-Match" in request.headers
            or b"If-Modified-Since" in request.headers
        ):
            return
        if record.etag:
            request.headers[b"If-None-Match"] = record.etag
        if record.last_modified:
            request.headers[b"If-Modified-Since"] = record.last_modified
        request.meta[meta.NOT_MODIFIED] = record.digest
        self.stats.inc_value("state/conditional")


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
        not_modified = response.status == 304 and meta.NOT_MODIFIED in request.meta
        result = self.state.record_fetch(
            key,
            kind=kind,
            now=time.time(),
            status=response.status,
            digest=None if not_modified else sha1_digest(response.body),
            fetched_url=response.url,
            lastmod=request.meta.get(LASTMOD_META),
            published=request.meta.get(PUBLISHED_META),
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
        )
        if not_modified:
            self.stats.inc_value("state/not_modified")
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
