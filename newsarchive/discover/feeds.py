"""RSS 2.0 and Atom feeds: the newest articles of a site, with their dates."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lxml import etree

logger = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
)


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed."""

    link: str
    title: str | None = None
    published: str | None = None


def parse_feed(body: bytes) -> list[FeedEntry]:
    """Items of an RSS or Atom feed; empty for anything that is not a feed."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        logger.warning("not a feed: %s", exc)
        return []
    if root is None:
        return []
    entries: list[FeedEntry] = []
    if root.tag == f"{ATOM}feed":
        for entry in root.iter(f"{ATOM}entry"):
            href = None
            for link in entry.iter(f"{ATOM}link"):
                if link.get("rel", "alternate") == "alternate" and link.get("href"):
                    href = link.get("href")
                    break
            if href:
                entries.append(
                    FeedEntry(
                        href.strip(),
                        entry.findtext(f"{ATOM}title"),
                        entry.findtext(f"{ATOM}published") or entry.findtext(f"{ATOM}updated"),
                    )
                )
        return entries
    for item in root.iter("item", "{http://purl.org/rss/1.0/}item"):
        link = item.findtext("link") or item.findtext("{http://purl.org/rss/1.0/}link")
        if not link:
            guid = item.find("guid")
            if guid is not None and guid.get("isPermaLink", "true") == "true":
                link = guid.text
        if link:
            entries.append(FeedEntry(link.strip(), item.findtext("title"), item.findtext("pubDate")))
    return entries
