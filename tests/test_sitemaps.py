"""Sitemaps as news sites write them: the fields a crawl keeps from each entry.

A Google News sitemap's publication date is what the revisit policy ages an
article by (``articles_younger_than``): lost, an old article listed today
counts as new and is re-checked on every run.
"""

from __future__ import annotations

import gzip

from newsarchive.discover.sitemaps import parse_sitemap

NEWS = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc> https://news.example/2024/05/01/harbour </loc>
  <lastmod>2024-05-02T08:00:00+00:00</lastmod>
  <news:news>
    <news:publication><news:name>The Example</news:name><news:language>en</news:language>
    </news:publication>
    <news:publication_date>2024-05-01T06:30:00+00:00</news:publication_date>
    <news:title>Council votes to &amp; rebuild the harbour</news:title>
  </news:news>
</url>
<url><loc>https://news.example/2024/05/01/plain</loc></url>
</urlset>
"""


def test_a_news_sitemap_gives_each_article_its_date_and_title() -> None:
    first, second = parse_sitemap(NEWS)
    assert first.loc == "https://news.example/2024/05/01/harbour"
    assert first.lastmod == "2024-05-02T08:00:00+00:00"
    assert first.news_published == "2024-05-01T06:30:00+00:00"
    assert first.news_title == "Council votes to & rebuild the harbour"
    assert not first.is_sitemap
    assert (second.loc, second.news_published, second.news_title) == (
        "https://news.example/2024/05/01/plain", None, None)


def test_a_gzipped_index_lists_its_child_sitemaps() -> None:
    index = gzip.compress(
        b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>https://news.example/news.xml</loc><lastmod>2024-05-02</lastmod></sitemap>"
        b"</sitemapindex>")
    (entry,) = parse_sitemap(index)
    assert (entry.loc, entry.lastmod, entry.is_sitemap) == (
        "https://news.example/news.xml", "2024-05-02", True)


def test_junk_is_no_sitemap() -> None:
    assert parse_sitemap(b"<html><body>Not found</body></html>") == []
    assert parse_sitemap(b"\x00\x01 not xml") == []
