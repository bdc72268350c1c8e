"""Sitemap pages wait in a compact backlog, and known pages that are not due never
become requests (issue #19: a re-crawl's cost follows the work, memory stays flat)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from scrapy.http import Request, XmlResponse
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from newsarchive.discover.backlog import Backlog, Listed
from newsarchive.discover.incremental import due_listed
from newsarchive.discover.revisit import RevisitPolicy
from newsarchive.discover.state import CrawlState
from newsarchive.wiring import wiring_of
from spiders.news import NewsSpider

DAY = 86400.0


def sitemap(urls: list[str]) -> bytes:
    items = "".join(f"<url><loc>{u}</loc><lastmod>2026-01-01</lastmod></url>" for u in urls)
    return (b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + items.encode() + b"</urlset>")


def test_backlog_is_first_in_first_out_past_its_memory_spool() -> None:
    backlog = Backlog()
    for i in range(20_000):  # well past the in-memory part
        backlog.add(Listed(f"http://example.com/{i}", "article", "2026-01-01", None))
    assert len(backlog) == 20_000
    taken = backlog.take(3)
    assert [e.url for e in taken] == [f"http://example.com/{i}" for i in range(3)]
    backlog.add(Listed("http://example.com/last", "page"))
    rest = []
    while len(backlog):
        rest.extend(backlog.take(1000))
    assert len(rest) == 19_998
    assert rest[-1] == Listed("http://example.com/last", "page")
    backlog.close()


def test_known_pages_not_due_are_counted_as_skipped_and_dropped(tmp_path: Path) -> None:
    state = CrawlState(tmp_path / "crawl.sqlite")
    now = 1_800_000_000.0
    state.record_fetch("http://example.com/old", kind="article", now=now - 10 * DAY,
                       status=200, digest="sha1:A")
    state.record_fetch("http://example.com/fresh", kind="article", now=now - 60,
                       status=200, digest="sha1:B")
    state.record_fetch("http://example.com/failed", kind="article", now=now - 60,
                       status=503, digest=None)
    stats = MemoryStatsCollector(get_crawler())
    listed = [Listed(f"http://example.com/{name}", "article")
              for name in ("old", "fresh", "failed", "new")]
    due = due_listed(state, RevisitPolicy(), stats, listed, now=now)
    assert [e.url.rsplit("/", 1)[1] for e in due] == ["failed", "new"]
    assert stats.get_value("state/skipped") == 2
    assert stats.get_value("state/skipped/old") == 1
    assert stats.get_value("state/skipped/recent") == 1
    state.close()


def test_a_sitemap_fills_the_backlog_not_the_scheduler(tmp_path: Path) -> None:
    crawler = get_crawler(NewsSpider, {"STATE_ENABLED": False})
    spider = NewsSpider.from_crawler(crawler, start_urls="http://example.com/")
    urls = [f"http://example.com/a/{i}" for i in range(1200)]
    body = sitemap(urls)
    response = XmlResponse("http://example.com/sitemap.xml", body=body,
                           request=Request("http://example.com/sitemap.xml"))
    assert list(spider.parse_sitemap(response)) == []  # no request yet
    assert len(spider.backlog) == len(urls)
    spider.backlog.close()


def sitemap_index(children: dict[str, str]) -> bytes:
    items = "".join(f"<sitemap><loc>{u}</loc><lastmod>{m}</lastmod></sitemap>"
                    for u, m in children.items())
    return (b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + items.encode() + b"</sitemapindex>")


def read_index(spider: NewsSpider, children: dict[str, str]) -> list[str]:
    """The child sitemaps the spider requests from an index listing ``children``."""
    url = "http://example.com/sitemap.xml"
    response = XmlResponse(url, body=sitemap_index(children), request=Request(url))
    return [r.url for r in spider.parse_sitemap(response)]


def read_child(spider: NewsSpider, url: str, lastmod: str, pages: list[str]) -> None:
    request = spider.sitemap_request(url, lastmod)
    list(spider.parse_sitemap(XmlResponse(url, body=sitemap(pages), request=request)))


def news_spider(tmp_path: Path, **settings: object) -> tuple[NewsSpider, CrawlState]:
    crawler = get_crawler(NewsSpider, {"STATE_ENABLED": False, **settings})
    spider = NewsSpider.from_crawler(crawler, start_urls="http://example.com/")
    state = CrawlState(tmp_path / "crawl.sqlite")
    wiring_of(crawler).state = state
    return spider, state


OLD = "2026-01-01T00:00:00+00:00"  # long past STATE_REVISIT_ARTICLE_MAX_AGE


def test_a_child_sitemap_read_whole_in_a_clean_run_is_not_fetched_while_unchanged(
        tmp_path: Path) -> None:
    first, state = news_spider(tmp_path)
    children = {"http://example.com/s1.xml": OLD, "http://example.com/s2.xml": OLD}
    assert read_index(first, children) == list(children)  # nothing settled yet: both read
    for url in children:
        read_child(first, url, OLD, [f"{url}/a"])
    first.backlog.take(10)  # as if every listed page were requested and answered
    first.settle_sitemaps(first, "finished")
    state.commit()  # as the crawl state's close does, after the spider's handler
    assert state.sitemap_read("http://example.com/s1.xml") == OLD

    again, _ = news_spider(tmp_path)
    assert read_index(again, children) == []
    assert again.crawler.stats.get_value("state/skipped/sitemap-unchanged") == 2
    # A changed <lastmod> is read; so is one recent enough to hold articles still due.
    recent = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 3600))
    changed = {"http://example.com/s1.xml": "2026-01-02T00:00:00+00:00",
               "http://example.com/s2.xml": OLD, "http://example.com/s3.xml": recent}
    assert read_index(again, changed) == ["http://example.com/s1.xml",
                                          "http://example.com/s3.xml"]
    state.close()


def test_child_sitemaps_are_not_settled_after_a_failure_or_an_unfinished_run(
        tmp_path: Path) -> None:
    spider, state = news_spider(tmp_path)
    read_child(spider, "http://example.com/s1.xml", OLD, ["http://example.com/a"])
    spider.backlog.take(10)
    spider.settle_sitemaps(spider, "shutdown")  # interrupted
    spider.crawler.stats.inc_value("fetch/failed/timeout")
    spider.settle_sitemaps(spider, "finished")  # finished, but a fetch failed
    assert state.sitemap_read("http://example.com/s1.xml") is None
    # nor one that listed pages other than articles (due every STATE_REVISIT_PAGE_EVERY)
    other, _ = news_spider(tmp_path)
    other.article_re = re.compile("/article/")
    read_child(other, "http://example.com/s2.xml", OLD, ["http://example.com/tag/x"])
    other.backlog.take(10)
    other.settle_sitemaps(other, "finished")
    assert state.sitemap_read("http://example.com/s2.xml") is None
    state.close()


def test_a_child_sitemap_that_held_no_entry_is_not_settled(tmp_path: Path) -> None:
    spider, state = news_spider(tmp_path)
    url = "http://example.com/s1.xml"
    request = spider.sitemap_request(url, OLD)
    list(spider.parse_sitemap(XmlResponse(url, body=b"<html>oops</html>", request=request)))
    spider.settle_sitemaps(spider, "finished")
    assert state.sitemap_read(url) is None
    state.close()
