"""HTML pieces shared by the demo site's pages: escaping, masthead, footer, dates.

Article templates use as much or as little of this as suits their look; the
site's own pages (home, section fronts, misc) are all built with :func:`page`.
"""

from __future__ import annotations

import datetime as dt
import html
import json

from newsarchive.demosite import vocabulary as v
from newsarchive.demosite.content import Article

STYLESHEET_PATH = "/static/site.css"
LOGO_PATH = "/static/img/logo.png"
PHOTO_PATH = "/static/img/photo.png"
FEED_PATH = "/feed.xml"
ATOM_PATH = "/atom.xml"


def esc(text: str) -> str:
    """Text for an HTML element or a double-quoted attribute."""
    return html.escape(text, quote=True)


def section_path(section: str, page: int = 1) -> str:
    """``/world/`` for the front page of a section, ``/world/page/2/`` after it."""
    return f"/{section}/" if page <= 1 else f"/{section}/page/{page}/"


def nav_links() -> str:
    """The section links every page carries."""
    return "".join(
        f'<a href="{section_path(s)}">{esc(v.SECTION_TITLES[s])}</a>' for s in v.SECTIONS
    )


def head_links() -> str:
    """Stylesheet and feed discovery links for a page's ``<head>``."""
    return (
        f'<link rel="stylesheet" href="{STYLESHEET_PATH}">'
        f'<link rel="alternate" type="application/rss+xml" title="{esc(v.SITE_NAME)}" '
        f'href="{FEED_PATH}">'
        f'<link rel="alternate" type="application/atom+xml" title="{esc(v.SITE_NAME)}" '
        f'href="{ATOM_PATH}">'
    )


def masthead() -> str:
    """Logo and section navigation."""
    return (
        f'<header class="masthead"><a href="/" class="logo"><img src="{LOGO_PATH}" '
        f'alt="{esc(v.SITE_NAME)}" width="120" height="30"></a><nav>{nav_links()}</nav></header>'
    )


def footer() -> str:
    """Site footer: about page and feeds."""
    return (
        '<footer><a href="/about.html">About us</a> <a href="/feed.xml">RSS</a> '
        '<a href="/atom.xml">Atom</a> '
        f"<span>© 2026 {esc(v.SITE_NAME)}. A demo site for newsarchive.</span></footer>"
    )


def page(title: str, body: str, *, charset: str | None = "utf-8", head: str = "") -> str:
    """A full HTML document in the site's plain chrome."""
    meta = f'<meta charset="{charset}">' if charset else ""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head>{meta}<title>{esc(title)}</title>'
        f"{head_links()}{head}</head>\n<body>{masthead()}\n<main>{body}</main>\n{footer()}"
        "</body></html>\n"
    )


def human_date(when: dt.datetime) -> str:
    """``March 14, 2026, 9:30 AM UTC``."""
    hour = when.hour % 12 or 12
    return f"{when:%B} {when.day}, {when.year}, {hour}:{when:%M} {'AM' if when.hour < 12 else 'PM'} UTC"


def json_ld(data: object) -> str:
    """JSON for a ``<script>`` element (no ``</`` that would close it early)."""
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def byline_names(authors: tuple[str, ...], wrap: str) -> str:
    """``A and B`` with each name in ``wrap`` (a format string with ``{}``)."""
    return " and ".join(wrap.format(esc(a)) for a in authors)


def news_article(article: Article, **extra: object) -> dict[str, object]:
    """schema.org NewsArticle metadata of ``article`` (headline, authors, date, publisher)."""
    return {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "author": [{"@type": "Person", "name": a} for a in article.authors],
        "datePublished": article.published,
        "publisher": {"@type": "Organization", "name": article.publisher},
        **extra,
    }
