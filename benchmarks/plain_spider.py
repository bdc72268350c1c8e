"""The baseline of ``crawl_archive.py``: a plain Scrapy spider, stock settings.

It discovers and follows what newsarchive's ``news`` spider does (robots.txt,
its sitemaps and sitemap indexes, the root page, links to ``depth`` hops from
it, embedded images, stylesheets and scripts), but archives nothing, extracts
nothing and keeps no state: what any Scrapy user would write. Run by
``scrapy runspider`` with only the concurrency set like newsarchive's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from scrapy.spiders import SitemapSpider


class PlainSpider(SitemapSpider):
    """Sitemaps from robots.txt, plus links from the root page to ``depth`` hops."""

    name = "plain"

    def __init__(self, url: str = "", depth: str = "1", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = url
        self.depth = int(depth)
        self.origin = urlsplit(url).netloc
        self.sitemap_urls = [url.rstrip("/") + "/robots.txt"]

    async def start(self) -> Any:
        async for request in super().start():
            yield request
        yield scrapy.Request(self.root, callback=self.parse, cb_kwargs={"hops": 0})

    def parse(self, response: Response, hops: int | None = None) -> Iterator[Any]:
        """Follow same-site links while under ``depth``; fetch embeds once."""
        if not isinstance(response, scrapy.http.TextResponse):
            return
        hops = 0 if hops is None else hops  # pages from sitemaps start at 0, as in ours
        for src in response.css("img::attr(src), script::attr(src), "
                                "link[rel=stylesheet]::attr(href)").getall():
            yield response.follow(src, callback=self.embed)
        if hops < self.depth:
            for href in response.css("a::attr(href)").getall():
                url = response.urljoin(href)
                if urlsplit(url).netloc == self.origin:
                    yield scrapy.Request(url, callback=self.parse, cb_kwargs={"hops": hops + 1})

    def embed(self, response: Response) -> None:
        """An image, stylesheet or script: fetched, nothing more."""

    def closed(self, reason: str) -> None:
        """Print the responses received, for the benchmark (stdout is otherwise empty)."""
        stats = self.crawler.stats
        print(json.dumps({"pages": stats.get_value("downloader/response_count", 0),
                          "finish_reason": reason}))
