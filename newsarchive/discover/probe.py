"""Probing a news site for ``newsarchive site new URL``: a starting site file.

A handful of polite requests (robots.txt, the home page, the sitemaps it
names, ``/sitemap.xml`` as a fallback), each bounded in size and time, with
newsarchive's User-Agent. From them: the sitemaps (telling Google News
sitemaps and indexes apart), the feeds the home page announces, the section
fronts its navigation links to, and an article-URL pattern guessed from the
URLs the sitemaps list. This is a few requests before any crawl, so it uses
the standard library rather than starting Scrapy; the crawl itself, and all
archiving, stays Scrapy's.
"""

from __future__ import annotations

import logging
import re
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from protego import Protego

from newsarchive.discover.feeds import parse_feed
from newsarchive.discover.links import extract_links
from newsarchive.discover.politeness import user_agent
from newsarchive.discover.sitemaps import parse_sitemap, sitemaps_in_robots
from newsarchive.exceptions import ConfigError

logger = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024  # per probe response
MAX_SITEMAPS = 6  # sitemaps (and children of indexes) read to learn URL shapes
TIMEOUT = 20.0
NEWS_NS = b"http://www.google.com/schemas/sitemap-news/0.9"
# Candidate article-URL patterns, most specific first; the first that matches
# most sitemap URLs (and not the home page) is proposed.
PATTERNS = (
    (r"/\d{4}/\d{2}/\d{2}/", re.compile(r"/\d{4}/\d{2}/\d{2}/")),
    (r"/\d{4}/\d{2}/", re.compile(r"/\d{4}/\d{2}/")),
    (r"/\d{4}-\d{2}-\d{2}/", re.compile(r"/\d{4}-\d{2}-\d{2}/")),
    (r"-\d{5,}(?:\.html?)?$", re.compile(r"-\d{5,}(?:\.html?)?$")),
    (r"/\d{5,}(?:/|\.html?)?$", re.compile(r"/\d{5,}(?:/|\.html?)?$")),
    (r"/(?:article|story|news)s?/", re.compile(r"/(?:article|story|news)s?/")),
    (r"\.html?$", re.compile(r"\.html?$")),
)


@dataclass
class ProbeResult:
    """What a probe found."""

    url: str
    name: str
    robots_found: bool = False
    sitemaps: list[str] = field(default_factory=list)
    news_sitemaps: list[str] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    article_pattern: str | None = None
    sample_articles: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def fetch(url: str, timeout: float = TIMEOUT) -> tuple[int, bytes]:
    """GET ``url``; (status, body up to :data:`MAX_BYTES`). Raises ``OSError`` if unreachable."""
    request = urllib.request.Request(
        url, headers={"User-Agent": user_agent(), "Accept-Encoding": "identity"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 -- http(s) only
            return resp.status, resp.read(MAX_BYTES)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(MAX_BYTES) if exc.fp else b""


def site_name(url: str) -> str:
    """``https://www.example-news.co.uk/`` -> ``example-news``."""
    parts_ = urlsplit(url)
    host = (parts_.hostname or "site").lower()
    if re.fullmatch(r"[\d.]+|[0-9a-f:]+", host):  # an IP address: keep it whole
        return "site-" + re.sub(r"[^0-9a-z]+", "-", f"{host}-{parts_.port or ''}").strip("-")
    parts = [p for p in host.split(".") if p not in ("www", "m", "amp")]
    if len(parts) >= 3 and len(parts[-1]) == 2 and len(parts[-2]) <= 3:
        parts = parts[:-2]  # co.uk, com.au
    elif len(parts) >= 2:
        parts = parts[:-1]
    name = re.sub(r"[^a-z0-9_-]+", "-", "-".join(parts) or host).strip("-")
    return name or "site"


def guess_pattern(urls: list[str], not_articles: list[str]) -> str | None:
    """The candidate pattern matching most ``urls`` (at least half) and none of ``not_articles``."""
    if not urls:
        return None
    paths = [urlsplit(u).path for u in urls]
    others = [urlsplit(u).path for u in not_articles]
    for text, rx in PATTERNS:
        hits = sum(1 for p in paths if rx.search(p))
        if hits * 2 >= len(paths) and not any(rx.search(p) for p in others):
            return text
    return None


def _sections(home: str, links: list[str]) -> list[str]:
    """First-level paths the home page links to: ``/world/``, ``/business``."""
    root = urlsplit(home)
    out: list[str] = []
    for link in links:
        parts = urlsplit(link)
        if parts.netloc != root.netloc or parts.query:
            continue
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) == 1 and "." not in segments[0] and re.fullmatch(r"[a-z][a-z0-9-]{1,30}", segments[0]):
            url = urljoin(home, parts.path)
            if url not in out:
                out.append(url)
    # Section fronts are usually folders (/world/); if the page links to some,
    # drop the slash-less candidates (/latest, /login...).
    folders = [u for u in out if u.endswith("/")]
    return (folders or out)[:12]


def probe(url: str) -> ProbeResult:
    """Probe the site at ``url``; a site that cannot be reached is a :class:`ConfigError`."""
    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}"
    home = url if parts.path else root + "/"
    result = ProbeResult(url=home, name=site_name(home))
    robots = None
    try:
        status, body = fetch(root + "/robots.txt")
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot reach {root}: {getattr(exc, 'reason', exc)}") from None
    if status == 200:
        result.robots_found = True
        robots = Protego.parse(body.decode("utf-8", "replace"))
        result.sitemaps = list(sitemaps_in_robots(body, root + "/robots.txt"))
    allowed = robots is None or robots.can_fetch(home, user_agent())
    links: list[str] = []
    if not allowed:
        result.notes.append("robots.txt disallows the home page for crawlers; ask the site first")
    else:
        try:
            status, body = fetch(home)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot fetch {home}: {getattr(exc, 'reason', exc)}") from None
        if status == 200:
            page = extract_links(body, home)
            result.feeds = page.feeds
            links = page.links
            result.sections = _sections(home, links)
        else:
            result.notes.append(f"the home page answered HTTP {status}")
    if not result.sitemaps:
        result.sitemaps = [root + "/sitemap.xml"]
        result.notes.append("robots.txt names no sitemap; trying /sitemap.xml")
    article_urls = _read_sitemaps(result)
    for feed in result.feeds[:2]:
        try:
            status, body = fetch(feed)
        except (OSError, ValueError):
            continue
        if status == 200:
            article_urls += [urljoin(feed, e.link) for e in parse_feed(body)]
    result.sample_articles = article_urls[:5]
    result.article_pattern = guess_pattern(article_urls, [home, *result.sections])
    return result


def _read_sitemaps(result: ProbeResult) -> list[str]:
    """Read a few sitemaps; keep those that answer; return the page URLs they list."""
    queue = list(result.sitemaps)
    answered: list[str] = []
    pages: list[str] = []
    seen: set[str] = set()
    while queue and len(seen) < MAX_SITEMAPS:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        try:
            status, body = fetch(url)
        except (OSError, ValueError):
            continue
        entries = parse_sitemap(body) if status == 200 else []
        if not entries:
            continue
        if url in result.sitemaps:
            answered.append(url)
        if NEWS_NS in body[:4096] and url not in result.news_sitemaps:
            result.news_sitemaps.append(url)
        for entry in entries:
            if entry.is_sitemap:
                queue.append(entry.loc)
            else:
                pages.append(entry.loc)
    if not answered:
        result.notes.append("no sitemap answered")
    result.sitemaps = answered
    # The most common listed URLs are what a pattern must match; keep a sample.
    return [u for u, _ in Counter(pages).most_common(2000)]


def render_site_file(result: ProbeResult, contact: str | None = None) -> str:
    """The site file text for a probe result, with comments (see docs/site-file.md)."""

    def block(key: str, values: list[str], comment: str) -> str:
        lines = [f"# {comment}"]
        if values:
            lines.append(f"{key}:")
            lines += [f"  - {v}" for v in values]
        else:
            lines.append(f"# {key}: []   (none found)")
        return "\n".join(lines)

    news = set(result.news_sitemaps)
    sitemap_note = "Sitemaps found" + (
        f" ({len(news)} Google News sitemap{'s' if len(news) != 1 else ''})" if news else ""
    )
    pattern = result.article_pattern
    parts = [
        f"# Site file written by 'newsarchive site new {result.url}'. Check every line;",
        "# the keys are documented in docs/site-file.md.",
        *(f"# NOTE: {n}" for n in result.notes),
        "",
        f"name: {result.name}",
        "",
        "# Where the crawl starts; fetched on every run.",
        f"start_urls:\n  - {result.url}",
        "",
        block("sections", result.sections, "Section fronts linked from the home page; fetched on every run."),
        "",
        block("sitemaps", result.sitemaps, sitemap_note + "."),
        "",
        block("feeds", result.feeds, "Feeds the home page announces."),
        "",
        "depth: 2",
        "",
        "# Article pages (regular expressions searched in the URL)"
        + (f", guessed from URLs like {result.sample_articles[0]}" if pattern and result.sample_articles else "")
        + ".",
        f"article_patterns:\n  - '{pattern}'" if pattern else "# article_patterns: []   (no pattern guessed)",
        "",
        "render: never",
        "",
        "# Every hour at a minute past; see 'newsarchive schedule'.",
        'schedule: "1 * * * *"',
        "",
        "# Who to contact about this crawl (sent in the User-Agent). Please set it.",
        f"contact: {contact}" if contact else "# contact: archive-team@example.org",
        "",
        "limits:\n  pages: 5000\n  time: 1h",
        "",
        "revisit:\n  articles_younger_than: 2d\n  articles_every: 6h\n  pages_every: 1h\n  embeds_every: 1d",
        "",
    ]
    return "\n".join(parts)
