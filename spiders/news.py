"""The generic ``news`` spider: from a site's root URL to its articles.

Discovery order, as an archivist would do it by hand: robots.txt ``Sitemap:``
lines (or ``/sitemap.xml`` when there are none), sitemap indexes and Google
News sitemaps, RSS/Atom feeds (listed, or announced by pages), then links from
the start pages and section fronts to ``depth`` hops. Embedded resources
(images, stylesheets, scripts) of every page are fetched too, so the archived
page replays as it looked. A site file (:mod:`newsarchive.discover.site`)
supplies all of these; a bare URL is a site with one start page.

Every request carries its *kind* (``meta["na_kind"]``: robots, sitemap, feed,
front, article, page, embed) for the incremental crawl
(:mod:`newsarchive.discover.incremental`), which skips known pages that are
not due. Page URLs are requested without fragments and tracking parameters
(:func:`~newsarchive.discover.canonical.clean_url`), and a page's
``rel=canonical`` is recorded as the identity of the URL it was fetched as.

Every HTML page becomes a :class:`~newsarchive.fetch.items.PageItem`; the
sidecar pipeline decides whether it is an article.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response

from newsarchive.discover.backlog import Backlog, Listed
from newsarchive.discover.canonical import canonical_url, clean_url, declared_canonical
from newsarchive.discover.feeds import parse_feed
from newsarchive.discover.incremental import due_listed
from newsarchive.discover.links import extract_links
from newsarchive.discover.parsed import html_tree
from newsarchive.discover.recent import RecentUrls
from newsarchive.discover.revisit import RevisitPolicy, parse_time
from newsarchive.discover.sitemaps import iter_sitemap, sitemaps_in_robots
from newsarchive.discover.state import CrawlState
from newsarchive.fetch.items import PageItem
from newsarchive.fetch.outcomes import outcome_counts
from newsarchive.meta import BROWSER_LOADED, HOPS
from newsarchive.meta import KIND as KIND_META
from newsarchive.meta import LASTMOD as LASTMOD_META
from newsarchive.meta import NEW as NEW_META
from newsarchive.meta import PUBLISHED as PUBLISHED_META
from newsarchive.meta import STATE_KEY as KEY_META
from newsarchive.meta import WARC_SKIP as SKIP_META
from newsarchive.meta import WARC_TICKET as TICKET_META
from newsarchive.wiring import wiring_of

LISTED_BATCH = 500  # sitemap entries checked against the crawl state at once
FEED_BATCH = 200  # listed pages turned into requests each time the scheduler runs dry


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


class NewsSpider(scrapy.Spider):
    """Crawl news sites from their root URL, sitemaps and feeds."""

    name = "news"

    def __init__(
        self,
        start_urls: Any = None,
        sitemaps: Any = None,
        feeds: Any = None,
        allowed_domains: Any = None,
        depth: int | str = 2,
        article_pattern: str | None = None,
        fetch_embeds: bool | str = True,
        sections: Any = None,
        article_patterns: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.start_urls = _as_list(start_urls)
        self.section_urls = _as_list(sections)
        self.sitemap_urls = _as_list(sitemaps)
        self.feed_urls = _as_list(feeds)
        self.all_urls = self.start_urls + self.section_urls + self.sitemap_urls + self.feed_urls
        self.allowed_domains = _as_list(allowed_domains) or sorted(
            {urlsplit(u).hostname or "" for u in self.all_urls} - {""}
        )
        self.depth = int(depth)
        # Patterns come as a list from site files; a comma-separated string
        # could not hold regular expressions, so a string is one pattern.
        patterns = [article_pattern] if article_pattern else []
        if isinstance(article_patterns, str):
            patterns.append(article_patterns)
        elif article_patterns:
            patterns.extend(str(p) for p in article_patterns)
        self.article_re = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
        self.fetch_embeds = str(fetch_embeds).lower() not in ("0", "false", "no")
        self.backlog = Backlog()  # pages listed by sitemaps, not yet requested
        # links and embeds yielded lately: a page's repeats of them never become requests
        self.recent = RecentUrls()
        # child sitemaps read whole in this run that listed only articles: canonical
        # URL -> the index's <lastmod> for them (settled in the state at a clean finish)
        self.sitemaps_read: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        """The spider, fed from its sitemap backlog whenever the scheduler runs dry."""
        spider: NewsSpider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.feed_backlog, signal=signals.scheduler_empty)
        crawler.signals.connect(spider.idle, signal=signals.spider_idle)
        crawler.signals.connect(spider.settle_sitemaps, signal=signals.spider_closed)
        return spider

    def closed(self, reason: str) -> None:
        """Drop what is left of the backlog (a killed crawl re-reads the sitemaps)."""
        self.backlog.close()
        # repeats skipped before they became requests (not in dupefilter/filtered)
        self.crawler.stats.set_value("discover/repeated_links", self.recent.repeats)

    def settle_sitemaps(self, spider: Any = None, reason: str = "") -> None:
        """At a clean finish, remember the child sitemaps read whole (see :meth:`skip_sitemap`).

        Only then: a killed run, a failed fetch or a page left in the backlog would
        otherwise leave a listed page neither archived nor listed again. Runs before
        the crawl state closes (connected first, in :meth:`from_crawler`).
        """
        state: CrawlState | None = wiring_of(self.crawler).state
        failures, _ = outcome_counts(self.crawler.stats.get_stats())
        if (state is None or reason != "finished" or failures or len(self.backlog)
                or not self.sitemaps_read or self.settings.get("FRONTIER_URL")):
            return
        state.settle_sitemaps(self.sitemaps_read, time.time())
        self.crawler.stats.set_value("state/sitemaps_settled", len(self.sitemaps_read))

    @functools.cached_property
    def revisit_policy(self) -> RevisitPolicy:
        """The crawl's ``STATE_REVISIT_*`` rules (settings are fixed once the crawl runs)."""
        return RevisitPolicy.from_settings(self.settings)

    # -- entry points -----------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        """Robots.txt and sitemaps first, then feeds and start pages."""
        for request in self._start_requests():
            yield request

    def _start_requests(self) -> Iterable[scrapy.Request]:
        roots = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in self.all_urls}
        obey = self.settings.getbool("ROBOTSTXT_OBEY")
        for root in sorted(roots):
            # With ROBOTSTXT_OBEY, Scrapy's robots middleware fetches (and we
            # archive) robots.txt already: this copy is only read.
            yield scrapy.Request(
                urljoin(root, "/robots.txt"),
                callback=self.parse_robots,
                errback=self._robots_failed,
                meta={
                    SKIP_META: obey,
                    "dont_obey_robotstxt": True,
                    "root": root,
                    KIND_META: "robots",
                },
                priority=100,
                dont_filter=True,
            )
        for url in self.sitemap_urls:
            yield self.sitemap_request(url)
        for url in self.feed_urls:
            yield self.feed_request(url)
        for url in self.start_urls + self.section_urls:
            yield self.page_request(url, hops=0, kind="front", priority=50)

    # -- discovery --------------------------------------------------------------
    def parse_robots(self, response: Response) -> Iterable[scrapy.Request]:
        """Sitemaps named in robots.txt, or the conventional ``/sitemap.xml``."""
        found = sitemaps_in_robots(response.body, response.url)
        if not found and not self.sitemap_urls:
            found = [urljoin(response.url, "/sitemap.xml")]
        for url in found:
            yield self.sitemap_request(url)

    def _robots_failed(self, failure: Any) -> Iterable[scrapy.Request]:
        root = failure.request.meta.get("root")
        if root and not self.sitemap_urls:
            yield self.sitemap_request(urljoin(root, "/sitemap.xml"))

    def parse_sitemap(self, response: Response) -> Iterable[scrapy.Request]:
        """Follow a sitemap index; put the new and due pages of a sitemap in the backlog.

        Pages become requests only as the scheduler runs dry (:meth:`feed_backlog`):
        a sitemap of 100,000 articles is not 100,000 requests held in memory, and
        a known page that is not due is never a request at all (issue #19). A child
        sitemap the index says is unchanged is not even fetched (:meth:`skip_sitemap`).
        """
        batch: list[Listed] = []
        only_articles, listed = True, 0
        for entry in iter_sitemap(response.body):
            if entry.is_sitemap:
                if not self.skip_sitemap(entry.loc, entry.lastmod):
                    yield self.sitemap_request(entry.loc, entry.lastmod)
                continue
            kind = self.listed_kind(entry.loc)
            listed += 1
            only_articles = only_articles and kind == "article"
            batch.append(Listed(entry.loc, kind, entry.lastmod, entry.news_published))
            if len(batch) >= LISTED_BATCH:
                self._queue_listed(batch)
                batch = []
        self._queue_listed(batch)
        announced = response.meta.get(LASTMOD_META)
        if announced and only_articles and listed:  # not a body that held no sitemap
            self.sitemaps_read[canonical_url(response.url)] = str(announced)

    def skip_sitemap(self, url: str, lastmod: str | None) -> bool:
        """Whether a child sitemap of an index need not be fetched in this run.

        A news site's sitemaps list every article ever published, and re-reading
        them all makes a re-crawl cost grow with the site, not with what changed
        (issue #19). A child is left unread when the index gives the same
        ``<lastmod>`` as when a run that finished cleanly read it whole, it listed
        only articles, and that ``<lastmod>`` is older than
        ``STATE_REVISIT_ARTICLE_MAX_AGE``: no article in it is then due for a
        re-check, so reading it would queue nothing (and an edited article moves
        the ``<lastmod>``). Never with a frontier, whose workers finish apart.
        """
        state: CrawlState | None = wiring_of(self.crawler).state
        if state is None or not lastmod or self.settings.get("FRONTIER_URL"):
            return False
        policy = self.revisit_policy
        changed = parse_time(lastmod)
        if (policy.article_max_age is None or changed is None
                or time.time() - changed <= policy.article_max_age
                or state.sitemap_read(canonical_url(url)) != lastmod):
            return False
        self.crawler.stats.inc_value("state/skipped")
        self.crawler.stats.inc_value("state/skipped/sitemap-unchanged")
        return True

    def _queue_listed(self, batch: list[Listed]) -> None:
        state: CrawlState | None = wiring_of(self.crawler).state
        if state is not None and batch:
            batch = due_listed(state, self.revisit_policy, self.crawler.stats, batch)
        for entry in batch:
            self.backlog.add(entry)

    def feed_backlog(self) -> bool:
        """Hand the engine the next batch of listed pages; whether there were any."""
        entries = self.backlog.take(FEED_BATCH)
        for entry in entries:
            self.crawler.engine.crawl(self.page_request(
                entry.url, hops=0, kind=entry.kind, lastmod=entry.lastmod,
                published=entry.published,
            ))
        return bool(entries)

    def idle(self) -> None:
        """Keep the spider open while listed pages wait (the scheduler_empty feed's backstop)."""
        if self.feed_backlog():
            raise DontCloseSpider

    def parse_feed(self, response: Response) -> Iterable[scrapy.Request]:
        """Queue the items of an RSS/Atom feed."""
        for entry in parse_feed(response.body):
            url = urljoin(response.url, entry.link)
            yield self.page_request(
                url, hops=0, kind=self.listed_kind(url), published=entry.published
            )

    # -- requests -----------------------------------------------------------------
    def is_article(self, url: str) -> bool:
        """Whether ``url`` matches the site's article patterns (False without patterns)."""
        return self.article_re is not None and self.article_re.search(url) is not None

    def listed_kind(self, url: str) -> str:
        """Kind of a page listed in a sitemap or feed: an article, unless patterns say not."""
        return "article" if self.article_re is None or self.is_article(url) else "page"

    def sitemap_request(self, url: str, lastmod: str | None = None) -> scrapy.Request:
        """A sitemap or sitemap index (with the ``<lastmod>`` its index gave it)."""
        meta: dict[str, Any] = {KIND_META: "sitemap"}
        if lastmod:
            meta[LASTMOD_META] = lastmod
        return scrapy.Request(url, callback=self.parse_sitemap, priority=90, meta=meta)

    def feed_request(self, url: str) -> scrapy.Request:
        """An RSS/Atom feed: fetched on every run."""
        return scrapy.Request(url, callback=self.parse_feed, priority=80, meta={KIND_META: "feed"})

    def page_request(
        self,
        url: str,
        hops: int,
        kind: str = "page",
        lastmod: str | None = None,
        published: str | None = None,
        priority: int = 0,
    ) -> scrapy.Request:
        """A request for an HTML page: a front, an article or another page."""
        meta: dict[str, Any] = {HOPS: hops, KIND_META: kind}
        if lastmod:
            meta[LASTMOD_META] = lastmod
        if published:
            meta[PUBLISHED_META] = published
        return scrapy.Request(
            clean_url(url), callback=self.parse_page, meta=meta, priority=priority
        )

    # -- pages ------------------------------------------------------------------
    def parse_page(self, response: Response) -> Iterable[Any]:
        """Archive-worthy page: yield it for the sidecar pipeline and follow its links."""
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        if not ("html" in ctype or (not ctype and response.body.lstrip()[:1] == b"<")):
            return
        ticket = response.meta.get(TICKET_META)
        yield PageItem(
            url=response.url,
            status=response.status,
            body=response.body,
            content_type=ctype or None,
            record_id=ticket.record_id if ticket is not None else None,
            fetched_at=ticket.fetched_at if ticket is not None else None,
        )
        links = extract_links(response.body, response.url, html_tree(response))
        self.record_canonical(response.url, links.canonical, links.og_url)
        self.note_article(response, links.article_markup)
        for url in links.feeds:
            yield self.feed_request(url)
        recent = self.recent
        if self.fetch_embeds:
            loaded = response.meta.get(BROWSER_LOADED) or ()  # a rendered page's, archived with it
            for url in links.embeds:
                if url not in loaded and not recent.seen(url):
                    recent.add(url)
                    yield scrapy.Request(
                        url, callback=self.parse_embed, priority=-10, meta={KIND_META: "embed"}
                    )
        hops = int(response.meta.get(HOPS, 0))
        if hops < self.depth:
            for url in links.links:
                if recent.seen(url):
                    continue
                article = self.is_article(url)
                if self.article_re is None or article or hops + 1 < self.depth:
                    recent.add(url)  # only what is asked for: a deeper page may skip a link
                    kind = "article" if article else "page"
                    yield self.page_request(url, hops=hops + 1, kind=kind)

    def note_article(self, response: Response, markup: bool) -> None:
        """Count a new article; make a page found by a link an article if it says it is one.

        With article patterns, the patterns decide. Without, a page listed in a
        sitemap or feed is an article, and so is one marked up as an article
        (``og:type``, JSON-LD), so the next run revisits it as one.
        """
        kind = response.meta.get(KIND_META)
        if kind not in ("article", "page") or response.status != 200:
            return
        if self.article_re is not None:
            article = self.is_article(response.url)
        else:
            article = kind == "article" or markup
        if not article:
            return
        state: CrawlState | None = wiring_of(self.crawler).state
        key = response.meta.get(KEY_META)
        if kind != "article" and state is not None and key:
            state.set_kind(key, "article")
        if response.meta.get(NEW_META):
            self.crawler.stats.inc_value("state/new_articles")

    def record_canonical(self, url: str, link: str | None, og_url: str | None) -> None:
        """Make the page's declared canonical URL the identity of ``url`` in the crawl state."""
        declared = declared_canonical(url, link, og_url)
        state: CrawlState | None = wiring_of(self.crawler).state
        if declared is None or state is None:
            return
        fetched = canonical_url(url)
        if declared != fetched:
            state.add_alias(fetched, declared)
            self.crawler.stats.inc_value("state/canonical_aliases")

    def parse_embed(self, response: Response) -> Iterable[Any]:
        """Embedded resources are archived by the middleware; nothing to parse."""
        return ()
