"""Sitemap pages wait in a compact backlog, and known pages that are not due never
become requests (issue #19: a re-crawl's cost follows the work, memory stays flat)."""

from __future__ import annotations

from pathlib import Path

from scrapy.http import Request, XmlResponse
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from newsarchive.discover.backlog import Backlog, Listed
from newsarchive.discover.incremental import due_listed
from newsarchive.discover.revisit import RevisitPolicy
from newsarchive.discover.state import CrawlState
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
