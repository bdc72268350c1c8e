"""The crawl's stats collector keeps Scrapy's results, without the per-read shim."""

from __future__ import annotations

import warnings
from pathlib import Path

from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from newsarchive.crawl import crawl_settings
from newsarchive.fetch.stats import CrawlStats
from spiders.news import NewsSpider


def _exercise(stats: MemoryStatsCollector) -> dict:
    stats.open_spider()
    stats.inc_value("warc/queued")
    stats.inc_value("warc/queued", 2)
    stats.inc_value("pages", start=10)
    stats.max_value("depth", 3)
    stats.max_value("depth", 1)
    stats.min_value("first", 5)
    stats.min_value("first", 2)
    stats.set_value("reason", "finished")
    assert stats.get_value("missing", "none") == "none"
    return dict(stats.get_stats())


def test_crawl_stats_count_as_scrapys(tmp_path: Path) -> None:
    """The crawl's settings pick CrawlStats; every method gives what Scrapy's gives."""
    settings = crawl_settings(tmp_path / "archive")
    assert settings.get("STATS_CLASS") == "newsarchive.fetch.stats.CrawlStats"
    crawler = get_crawler(NewsSpider, settings_dict={"STATS_CLASS": settings["STATS_CLASS"]})
    assert type(crawler.stats) is CrawlStats
    ours = _exercise(crawler.stats)
    assert ours == _exercise(MemoryStatsCollector(get_crawler()))
    assert ours == {"warc/queued": 3, "pages": 11, "depth": 3, "first": 2, "reason": "finished"}


def test_crawl_stats_keep_the_last_runs_stats_and_take_a_spider_argument() -> None:
    """What ``spider_stats`` users and older extensions rely on still works."""
    crawler = get_crawler(NewsSpider, settings_dict={"STATS_CLASS": "newsarchive.fetch.stats.CrawlStats"})
    crawler.spider = crawler._create_spider()
    stats = crawler.stats
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation warning is raised any more
        stats.inc_value("old/extension", spider=crawler.spider)
    stats.close_spider(reason="finished")
    assert stats.spider_stats[crawler.spider.name] == {"old/extension": 1}
