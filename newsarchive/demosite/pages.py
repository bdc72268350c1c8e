"""The demo site's pages other than articles: home, section fronts, robots.txt,
sitemaps, feeds and the small special pages.

Each function returns the page's text; :mod:`newsarchive.demosite.site`
decides where it is served and how. All take articles newest first.
"""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from xml.sax.saxutils import escape as xml_escape

from newsarchive.demosite import layout
from newsarchive.demosite import vocabulary as v
from newsarchive.demosite.content import Article
from newsarchive.demosite.layout import esc
from newsarchive.demosite.templates import SiteContext

SECTION_PAGE_SIZE = 20
HOME_LATEST = 20
FEED_SIZE = 30
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


def _teaser_list(articles: Sequence[Article]) -> str:
    return "<ul class=\"teasers\">" + "".join(
        f'<li><a href="{a.path}">{esc(a.title)}</a> <p class="summary">{esc(a.summary)}</p></li>'
        for a in articles
    ) + "</ul>"


def home(latest: Sequence[Article], specials: Sequence[tuple[str, str]]) -> str:
    """Front page: sections, the latest articles, and links to the special pages."""
    sections = "".join(
        f'<li><a href="{layout.section_path(s)}">{esc(v.SECTION_TITLES[s])}</a></li>'
        for s in v.SECTIONS
    )
    extras = "".join(f'<li><a href="{path}">{esc(label)}</a></li>' for path, label in specials)
    body = (
        f"<h1>{esc(v.SITE_NAME)}</h1>"
        f'<section class="sections"><h2>Sections</h2><ul>{sections}</ul></section>'
        f'<section class="latest"><h2>Latest news</h2>{_teaser_list(latest)}</section>'
        f'<section class="more"><h2>More from the Courier</h2><ul>{extras}</ul></section>'
    )
    return layout.page(v.SITE_NAME, body)


def section_front(section: str, page: int, pages: int, articles: Sequence[Article]) -> str:
    """One page of a section's article list, newest first, with pagination links."""
    title = v.SECTION_TITLES[section]
    links = []
    if page > 1:
        links.append(f'<a rel="prev" href="{layout.section_path(section, page - 1)}">Newer</a>')
    links.append(f"<span>Page {page} of {pages}</span>")
    if page < pages:
        links.append(f'<a rel="next" href="{layout.section_path(section, page + 1)}">Older</a>')
    body = (
        f"<h1>{esc(title)}</h1>{_teaser_list(articles)}"
        f'<nav class="pagination">{"".join(links)}</nav>'
    )
    return layout.page(f"{title} | {v.SITE_NAME}", body)


def robots(ctx: SiteContext, disallowed: Sequence[str], sitemaps: Sequence[str]) -> str:
    """robots.txt: one disallowed path and the sitemaps."""
    lines = ["# robots.txt of the newsarchive demo site", "User-agent: *"]
    lines += [f"Disallow: {p}" for p in disallowed]
    lines.append("")
    lines += [f"Sitemap: {ctx.url(p)}" for p in sitemaps]
    return "\n".join(lines) + "\n"


def _w3c(article: Article) -> str:
    return article.published.replace("Z", "+00:00")


def sitemap_index(ctx: SiteContext, entries: Sequence[tuple[str, str]]) -> str:
    """A sitemap index listing (path, lastmod) child sitemaps."""
    items = "".join(
        f"<sitemap><loc>{xml_escape(ctx.url(p))}</loc><lastmod>{m}</lastmod></sitemap>\n"
        for p, m in entries
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">\n'
        f"{items}</sitemapindex>\n"
    )


def urlset(ctx: SiteContext, entries: Sequence[tuple[str, str]]) -> str:
    """A plain sitemap of (path, lastmod) URLs."""
    items = "".join(
        f"<url><loc>{xml_escape(ctx.url(p))}</loc><lastmod>{m}</lastmod></url>\n"
        for p, m in entries
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">\n{items}</urlset>\n'


def article_entries(articles: Sequence[Article]) -> list[tuple[str, str]]:
    """(path, lastmod) of each article, for :func:`urlset`."""
    return [(a.path, _w3c(a)) for a in articles]


def news_sitemap(ctx: SiteContext, recent: Sequence[Article]) -> str:
    """A Google News sitemap of recent articles."""
    items = "".join(
        f"<url><loc>{xml_escape(ctx.url(a.path))}</loc><news:news><news:publication>"
        f"<news:name>{xml_escape(v.SITE_NAME)}</news:name><news:language>en</news:language>"
        f"</news:publication><news:publication_date>{_w3c(a)}</news:publication_date>"
        f"<news:title>{xml_escape(a.title)}</news:title></news:news></url>\n"
        for a in recent
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}" '
        f'xmlns:news="{NEWS_NS}">\n{items}</urlset>\n'
    )


def rss(ctx: SiteContext, items: Sequence[Article]) -> str:
    """RSS 2.0 feed of the latest articles."""
    body = "".join(
        f"<item><title>{xml_escape(a.title)}</title><link>{xml_escape(ctx.url(a.path))}</link>"
        f'<guid isPermaLink="true">{xml_escape(ctx.url(a.path))}</guid>'
        f"<pubDate>{email.utils.format_datetime(a.published_at, usegmt=True)}</pubDate>"
        f"<dc:creator>{xml_escape(', '.join(a.authors))}</dc:creator>"
        f"<category>{v.SECTION_TITLES[a.section]}</category>"
        f"<description>{xml_escape(a.summary)}</description></item>\n"
        for a in items
    )
    built = email.utils.format_datetime(items[0].published_at, usegmt=True) if items else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel>\n<title>{xml_escape(v.SITE_NAME)}</title><link>{ctx.url('/')}</link>"
        f'<atom:link href="{ctx.url(layout.FEED_PATH)}" rel="self" type="application/rss+xml"/>'
        f"<description>Latest news from {xml_escape(v.SITE_NAME)}</description>"
        f"<language>en</language><lastBuildDate>{built}</lastBuildDate>\n{body}</channel></rss>\n"
    )


def atom(ctx: SiteContext, items: Sequence[Article]) -> str:
    """Atom 1.0 feed of the latest articles."""
    entries = "".join(
        f"<entry><title>{xml_escape(a.title)}</title>"
        f'<link rel="alternate" href="{xml_escape(ctx.url(a.path))}"/>'
        f"<id>{xml_escape(ctx.url(a.path))}</id><updated>{a.published}</updated>"
        f"<published>{a.published}</published>"
        + "".join(f"<author><name>{xml_escape(n)}</name></author>" for n in a.authors)
        + f"<summary>{xml_escape(a.summary)}</summary></entry>\n"
        for a in items
    )
    updated = items[0].published if items else "2026-01-01T00:00:00Z"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{xml_escape(v.SITE_NAME)}</title><id>{ctx.url('/')}</id>"
        f'<link rel="self" href="{ctx.url(layout.ATOM_PATH)}"/><link href="{ctx.url("/")}"/>'
        f"<updated>{updated}</updated>\n{entries}</feed>\n"
    )


def simple(title: str, text: str, *, charset: str | None = "utf-8") -> str:
    """A small page of the site's chrome with one paragraph."""
    return layout.page(f"{title} | {v.SITE_NAME}", f"<h1>{esc(title)}</h1><p>{esc(text)}</p>",
                       charset=charset)


def not_found(path: str) -> str:
    """Body of the 404 page."""
    return simple("Page not found", f"There is no page at {path} on this site.")


def moved(location: str) -> str:
    """Body of a redirect."""
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Moved</title></head>'
        f'<body><p>This page has moved to <a href="{esc(location)}">{esc(location)}</a>.</p>'
        "</body></html>\n"
    )
