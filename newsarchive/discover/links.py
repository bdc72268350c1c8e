"""Links and embedded resources of an HTML page.

Navigation links (``<a href>``) are followed to a depth; embeds (images,
stylesheets, scripts, ``<link rel=icon>``) are fetched so the page replays as
it looked; ``<link rel=alternate>`` feeds are fed back to discovery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import html as lxml_html

from newsarchive.discover.feeds import FEED_TYPES
from newsarchive.discover.parsed import parse_html

# schema.org types of a news story in JSON-LD: NewsArticle, ReportageNewsArticle,
# Article, BlogPosting, LiveBlogPosting...
LD_ARTICLE = re.compile(r'"@type"\s*:\s*(?:\[[^\]]*)?"\w*(?:Article|Posting)"')
SKIP_SCHEMES = ("mailto:", "javascript:", "tel:", "data:", "#")


@dataclass
class PageLinks:
    """What a page points at, as absolute URLs without fragments, in page order."""

    links: list[str] = field(default_factory=list)
    embeds: list[str] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    canonical: str | None = None  # <link rel=canonical href>, as written
    og_url: str | None = None  # <meta property=og:url content>, as written
    article_markup: bool = False  # og:type=article or a JSON-LD *Article: the page says it is one


def _absolute(base: str, origin: str | None, href: str) -> str:
    """``href`` resolved against ``base``, without its fragment.

    An href that is absolute or starts at the root (``/path``) resolves the
    same on every page of a site: only the base's scheme and host take part.
    Those, the bulk of a news page's links, are resolved once per site
    (``origin``: the base's ``scheme://host/``) and looked up after.
    """
    if origin is not None and (
        (href[:1] == "/" and href[1:2] not in ("/", "\\")) or href.startswith(("http://", "https://"))
    ):
        return _resolved(origin, href)
    return urldefrag(urljoin(base, href))[0]


@lru_cache(maxsize=4096)  # ~1.6 MB; a site's navigation stays in it
def _resolved(origin: str, href: str) -> str:
    return urldefrag(urljoin(origin, href))[0]


def _origin(base: str) -> str | None:
    """``scheme://host/`` of an http(s) base URL; None for any other."""
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}/"


def _add(target: list[str], seen: set[str], base: str, origin: str | None,
         href: str | None) -> None:
    if not href:
        return
    href = href.strip()
    if not href or href.lower().startswith(SKIP_SCHEMES):
        return
    url = _absolute(base, origin, href)
    if url.startswith(("http://", "https://")) and url not in seen:
        seen.add(url)
        target.append(url)


def extract_links(
    body: bytes | str, base_url: str, tree: lxml_html.HtmlElement | None = None
) -> PageLinks:
    """The links, embeds and feeds of ``body`` (HTML); ``tree`` is its parse when the
    caller has one (:func:`~newsarchive.discover.parsed.html_tree`), else it is parsed here."""
    out = PageLinks()
    doc = tree if tree is not None else parse_html(body)
    if doc is None:
        return out
    base = base_url
    for el in doc.iter("base"):
        if el.get("href"):
            base = urljoin(base_url, el.get("href"))
            break
    origin = _origin(base)
    seen_links: set[str] = set()
    seen_embeds: set[str] = set()
    seen_feeds: set[str] = set()
    for el in doc.iter(
        "a", "area", "img", "script", "link", "source", "iframe", "video", "audio", "meta"
    ):
        tag = el.tag
        if tag == "meta":
            prop = (el.get("property") or "").lower()
            if out.og_url is None and prop == "og:url":
                out.og_url = el.get("content")
            elif prop == "og:type" and (el.get("content") or "").strip().lower() == "article":
                out.article_markup = True
            continue
        if tag == "script" and (el.get("type") or "").lower() == "application/ld+json":
            if el.text and LD_ARTICLE.search(el.text):
                out.article_markup = True
            continue
        if tag in ("a", "area"):
            _add(out.links, seen_links, base, origin, el.get("href"))
        elif tag == "link":
            rel = (el.get("rel") or "").lower().split()
            if "canonical" in rel and out.canonical is None:
                out.canonical = el.get("href")
            elif "alternate" in rel and (el.get("type") or "").lower() in FEED_TYPES:
                _add(out.feeds, seen_feeds, base, origin, el.get("href"))
            elif {"stylesheet", "icon", "shortcut", "preload", "apple-touch-icon"} & set(rel):
                _add(out.embeds, seen_embeds, base, origin, el.get("href"))
        elif tag == "iframe":
            _add(out.links, seen_links, base, origin, el.get("src"))
        else:
            _add(out.embeds, seen_embeds, base, origin, el.get("src"))
            srcset = el.get("srcset")
            if srcset:
                for part in srcset.split(","):
                    _add(out.embeds, seen_embeds, base, origin, part.strip().split(" ")[0])
    return out
