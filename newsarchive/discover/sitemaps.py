"""Sitemaps, sitemap indexes and Google News sitemaps.

Parsing is Scrapy's own (:class:`scrapy.utils.sitemap.Sitemap`, lxml with
entity expansion off); this module only adds what news crawls need: the
``lastmod`` and the ``news:`` fields of each URL. Scrapy keeps the text of each
child of a ``<url>``, and ``<news:news>`` has none of its own (its fields are
its children), so :class:`_NewsSitemap` reads them before Scrapy clears the
element.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

logger = logging.getLogger(__name__)

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit, uncompressed


@dataclass(frozen=True)
class SitemapEntry:
    """One ``<url>`` (or ``<sitemap>``) of a sitemap."""

    loc: str
    lastmod: str | None = None
    news_title: str | None = None
    news_published: str | None = None
    is_sitemap: bool = False


class _NewsSitemap(Sitemap):
    """Scrapy's sitemap parser, keeping the title and date of each ``<news:news>``."""

    __slots__ = ()

    def _process_sitemap_element(self, elem: Any) -> dict[str, Any] | None:
        news: dict[str, str] = {}
        for child in elem:
            if self._get_tag_name(child) == "news":
                for field in child.iter():
                    name = self._get_tag_name(field)
                    if name in ("title", "publication_date") and field.text and field.text.strip():
                        news[name] = field.text.strip()
        item = super()._process_sitemap_element(elem)
        if item is not None and news:
            item["news"] = news
        return item


def _gunzip_if_needed(body: bytes) -> bytes:
    if body[:2] == b"\x1f\x8b":
        with gzip.GzipFile(fileobj=__import__("io").BytesIO(body)) as fh:
            return fh.read(MAX_SITEMAP_BYTES)
    return body


def iter_sitemap(body: bytes) -> Iterator[SitemapEntry]:
    """Entries of a sitemap or sitemap index, one at a time; none for anything that is
    not one. Scrapy's parser reads the XML incrementally and drops each ``<url>`` once
    read, so a sitemap of 100,000 entries never becomes 100,000 objects at once."""
    try:
        sitemap = _NewsSitemap(_gunzip_if_needed(body))
        is_index = sitemap.type == "sitemapindex"
        for item in sitemap:
            loc = item.get("loc")
            if not loc:
                continue
            news: dict[str, Any] = item.get("news") or {}
            yield SitemapEntry(
                loc=loc.strip(),
                lastmod=item.get("lastmod"),
                news_title=news.get("title") if isinstance(news, dict) else None,
                news_published=news.get("publication_date") if isinstance(news, dict) else None,
                is_sitemap=is_index,
            )
    except Exception as exc:  # lxml raises a variety of errors on junk
        logger.warning("not a sitemap: %s", exc)


def parse_sitemap(body: bytes) -> list[SitemapEntry]:
    """All entries of a sitemap or sitemap index (see :func:`iter_sitemap`)."""
    return list(iter_sitemap(body))


def sitemaps_in_robots(body: bytes, base_url: str) -> list[str]:
    """``Sitemap:`` lines of a robots.txt."""
    return list(sitemap_urls_from_robots(body, base_url=base_url))
