"""The generic ``news`` spider: from a site's root URL to its articles.

Discovery order, as an archivist would do it by hand: robots.txt ``Sitemap:``
lines (or ``/sitemap.xml`` when there are none), sitemap indexes and Google
News sitemaps, RSS/Atom feeds announced by pages, then links from the start
pages to ``depth`` hops. Embedded resources (images, stylesheets, scripts) of
every page are fetched too, so the archived page replays as it looked.

Every HTML page becomes a :class:`~newsarchive.fetch.items.PageItem`; the
sidecar pipeline decides whether it is an article.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.http import Response

from newsarchive.capture.middleware import SKIP_META, TICKET_META
from newsarchive.discover.feeds import parse_feed
from newsarchive.discover.links import extract_links
from newsarchive.discover.sitemaps import parse_sitemap, sitemaps_in_robots
from newsarchive.fetch.items import PageItem

HOPS = "na_hops"


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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.start_urls = _as_list(start_urls)
        self.sitemap_urls = _as_list(sitemaps)
        self.feed_urls = _as_list(feeds)
        self.allowed_domains = _as_list(allowed_domains) or sorted(
            {urlsplit(u).hostname or "" for u in self.start_urls + self.sitemap_urls} - {""}
        )
        self.depth = int(depth)
        self.article_re = re.compile(article_pattern) if article_pattern else None
        self.fetch_embeds = str(fetch_embeds).lower() not in ("0", "false", "no")

    # -- entry points -----------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        """Robots.txt and sitemaps first, then feeds and start pages."""
        for request in self._start_requests():
            yield request

    def _start_requests(self) -> Iterable[scrapy.Request]:
        roots = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in self.start_urls}
        obey = self.settings.getbool("ROBOTSTXT_OBEY")
        for root in sorted(roots):
            # With ROBOTSTXT_OBEY, Scrapy's robots middleware fetches (and we
            # archive) robots.txt already: this copy is only read.
            yield scrapy.Request(
                urljoin(root, "/robots.txt"),
                callback=self.parse_robots,
                errback=self._robots_failed,
                meta={SKIP_META: obey, "dont_obey_robotstxt": True, "root": root},
                priority=100,
                dont_filter=True,
            )
        for url in self.sitemap_urls:
            yield scrapy.Request(url, callback=self.parse_sitemap, priority=90)
        for url in self.feed_urls:
            yield scrapy.Request(url, callback=self.parse_feed, priority=80)
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse_page, meta={HOPS: 0}, priority=50)

    # -- discovery --------------------------------------------------------------
    def parse_robots(self, response: Response) -> Iterable[scrapy.Request]:
        """Sitemaps named in robots.txt, or the conventional ``/sitemap.xml``."""
        found = sitemaps_in_robots(response.body, response.url)
        if not found and not self.sitemap_urls:
            found = [urljoin(response.url, "/sitemap.xml")]
        for url in found:
            yield scrapy.Request(url, callback=self.parse_sitemap, priority=90)

    def _robots_failed(self, failure: Any) -> Iterable[scrapy.Request]:
        root = failure.request.meta.get("root")
        if root and not self.sitemap_urls:
            yield scrapy.Request(urljoin(root, "/sitemap.xml"), callback=self.parse_sitemap)

    def parse_sitemap(self, response: Response) -> Iterable[scrapy.Request]:
        """Follow a sitemap index; queue the pages of a sitemap."""
        for entry in parse_sitemap(response.body):
            if entry.is_sitemap:
                yield scrapy.Request(entry.loc, callback=self.parse_sitemap, priority=90)
            else:
                yield self.page_request(entry.loc, hops=0, lastmod=entry.lastmod)

    def parse_feed(self, response: Response) -> Iterable[scrapy.Request]:
        """Queue the items of an RSS/Atom feed."""
        for entry in parse_feed(response.body):
            yield self.page_request(urljoin(response.url, entry.link), hops=0)

    def page_request(self, url: str, hops: int, **meta: Any) -> scrapy.Request:
        """A request for a page that may be an article."""
        return scrapy.Request(url, callback=self.parse_page, meta={HOPS: hops, **meta})

    # -- pages ------------------------------------------------------------------
    def parse_page(self, response: Response) -> Iterable[Any]:
        """Archive-worthy page: yield it for the sidecar pipeline and follow its links."""
        ctype = response.headers.get(b"Content-Type", b"").decode("latin-1").lower()
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
        links = extract_links(response.body, response.url)
        for url in links.feeds:
            yield scrapy.Request(url, callback=self.parse_feed, priority=80)
        if self.fetch_embeds:
            for url in links.embeds:
                yield scrapy.Request(url, callback=self.parse_embed, priority=-10)
        hops = int(response.meta.get(HOPS, 0))
        if hops < self.depth:
            for url in links.links:
                if self.article_re is None or self.article_re.search(url) or hops + 1 < self.depth:
                    yield self.page_request(url, hops=hops + 1)

    def parse_embed(self, response: Response) -> Iterable[Any]:
        """Embedded resources are archived by the middleware; nothing to parse."""
        return ()
