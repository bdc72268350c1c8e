"""A page's repeats of links asked for lately never become requests, and nothing
Scrapy would have requested is held back (issue #19: CPU per page)."""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from newsarchive.discover.recent import RecentUrls
from newsarchive.meta import HOPS
from spiders.news import NewsSpider


def test_recent_urls_tell_repeats_and_forget_the_oldest() -> None:
    recent = RecentUrls(size=3)
    for url in ("a", "b", "c"):
        assert not recent.seen(url)
        recent.add(url)
    assert recent.seen("a") and recent.seen("c")
    recent.add("d")  # "a" is forgotten: a repeat of it goes to Scrapy's duplicate filter
    assert not recent.seen("a")
    assert recent.seen("b") and recent.seen("d")
    assert len(recent) == 3
    assert recent.repeats == 4


def page(url: str, hops: int, links: list[str], embeds: list[str]) -> HtmlResponse:
    body = "<html><head>" + "".join(f'<link rel="stylesheet" href="{e}">' for e in embeds)
    body += "</head><body>" + "".join(f'<a href="{u}">x</a>' for u in links) + "</body></html>"
    return HtmlResponse(url, body=body.encode(), encoding="utf-8",
                        headers={"Content-Type": "text/html"},
                        request=Request(url, meta={HOPS: hops}))


def requested(spider: NewsSpider, response: HtmlResponse) -> list[str]:
    return [r.url for r in spider.parse_page(response) if isinstance(r, scrapy.Request)]


def spider(**kwargs: Any) -> NewsSpider:
    crawler = get_crawler(NewsSpider, {"STATE_ENABLED": False})
    made = NewsSpider.from_crawler(crawler, start_urls="http://example.com/", **kwargs)
    crawler.spider = made
    return made


def test_repeated_navigation_and_embeds_are_asked_for_once() -> None:
    news = spider(depth=1)
    nav = ["http://example.com/world", "http://example.com/sport"]
    css = ["http://example.com/site.css"]
    first = requested(news, page("http://example.com/", 0, nav + ["/a1"], css))
    assert first == css + nav + ["http://example.com/a1"]
    second = requested(news, page("http://example.com/x", 0, nav + ["/a2", "/a1"], css))
    assert second == ["http://example.com/a2"]
    news.closed("finished")
    assert news.crawler.stats.get_value("discover/repeated_links") == 4


def test_a_link_a_deeper_page_did_not_follow_is_followed_from_a_shallower_one() -> None:
    # With article patterns, a page at the last hop follows only articles: the
    # section it skipped must still be requested when the front page links it.
    news = spider(depth=2, article_patterns=r"/story/")
    deep = requested(news, page("http://example.com/deep", 1,
                                ["http://example.com/section", "/story/1"], []))
    assert deep == ["http://example.com/story/1"]
    front = requested(news, page("http://example.com/", 0,
                                 ["http://example.com/section", "/story/1"], []))
    assert front == ["http://example.com/section"]
