"""Content decoding for the spider: bounded by FETCH_PARSE_MAXSIZE, and a body
that does not decode is one warning and a count, not a traceback."""

from __future__ import annotations

import gzip
import logging

import pytest
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from newsarchive.fetch.body import BoundedHttpCompressionMiddleware

CAP = 1 << 20


def middleware() -> BoundedHttpCompressionMiddleware:
    crawler = get_crawler(settings_dict={"FETCH_PARSE_MAXSIZE": CAP, "DOWNLOAD_MAXSIZE": 1 << 30})
    crawler.stats.open_spider()
    return BoundedHttpCompressionMiddleware.from_crawler(crawler)


def gzipped(body: bytes, coding: bytes = b"gzip") -> HtmlResponse:
    return HtmlResponse("http://news.example/a", body=body, headers={"Content-Encoding": coding})


def test_a_page_decodes_as_scrapy_decodes_it() -> None:
    mw = middleware()
    page = b"<html><p>story</p></html>"
    got = mw.process_response(Request("http://news.example/a"), gzipped(gzip.compress(gzip.compress(page)),
                                                                        b"gzip, gzip"))
    assert got.body == page and b"Content-Encoding" not in got.headers


def test_a_bomb_stops_at_the_parse_cap(caplog: pytest.LogCaptureFixture) -> None:
    mw = middleware()
    bomb = gzip.compress(bytes(50 * CAP))
    with caplog.at_level(logging.WARNING), pytest.raises(IgnoreRequest):
        mw.process_response(Request("http://news.example/a"), gzipped(bomb))
    assert mw.stats.get_value("fetch/undecodable") == 1
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("newsarchive")]
    assert len(lines) == 1 and "FETCH_PARSE_MAXSIZE" in lines[0] and "archived as sent" in lines[0]


def test_a_gzip_header_on_a_plain_body_is_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    mw = middleware()
    with caplog.at_level(logging.WARNING), pytest.raises(IgnoreRequest):
        mw.process_response(Request("http://news.example/a"), gzipped(b"<html>plain</html>"))
    assert mw.stats.get_value("fetch/undecodable") == 1
    assert [r.exc_info for r in caplog.records if r.name.startswith("newsarchive")] == [None]
