"""The article list of the admin origin: search, sort by date, pages, thumbnails.

``/?q=WORDS&sort=published-desc&page=N``: every article with a sidecar, or
those whose title, text, publisher or authors hold every word of ``q``
(full-text, see :mod:`newsarchive.replay.articles`), sorted by publication
or capture date or title, 50 to a page. Each entry links to its replayed
page, its sidecar page and the list of its captures, and shows a thumbnail
of its screenshot when the crawl took one (``--screenshots``), served from
its WARC resource record by ``/_screenshot/NAME/[TS/]URL``. No script: a
plain form, so it works wherever the page opens.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from newsarchive.replay.articles import SORTS, Article, ArticleIndex
from newsarchive.replay.isolation import replay_url

PAGE_SIZE = 50
SORT_LABELS = {
    "published-desc": "newest published first",
    "published-asc": "oldest published first",
    "captured-desc": "newest captured first",
    "captured-asc": "oldest captured first",
    "title": "title A-Z",
}

STYLE = """
.search{display:flex;gap:8px;flex-wrap:wrap;align-items:center;margin:10px 0}
.search input[type=search]{flex:1 1 320px;font-size:1em;padding:5px 8px}
.search select,.search button{font-size:1em;padding:4px 8px}
ol.articles{list-style:none;padding:0;margin:0}
ol.articles li{display:flex;gap:14px;padding:10px 0;border-bottom:1px solid #eee}
ol.articles .thumb{flex:0 0 160px;height:100px;border:1px solid #ddd;object-fit:cover;
 object-position:top;background:#f3f3f3}
ol.articles .title{font-size:1.05em;font-weight:600}
ol.articles .links a{margin-right:12px;font-size:.9em}
.pager a,.pager span{margin-right:12px}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def readable_ts(ts: str) -> str:
    """``20261130114006`` -> ``30 Nov 2026 11:40 UTC``."""
    try:
        when = dt.datetime.strptime(ts[:14].ljust(14, "0"), "%Y%m%d%H%M%S")
    except ValueError:
        return ts
    return when.strftime("%-d %b %Y %H:%M UTC")


def readable_date(value: str | None) -> str:
    """An ISO 8601 date or date-time as ``28 Dec 2024`` (``, 14:12`` when it has a time)."""
    if not value:
        return ""
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    text = when.strftime("%-d %b %Y")
    if len(value) > 10 and (when.hour or when.minute):
        text += when.strftime(", %H:%M")
    return text


def _query(environ: dict[str, Any]) -> tuple[str, str, int]:
    query = parse_qs(environ.get("QUERY_STRING", ""))
    words = (query.get("q") or [""])[0][:200]
    sort = (query.get("sort") or ["published-desc"])[0]
    if sort not in SORTS:
        sort = "published-desc"
    try:
        page = max(1, int((query.get("page") or ["1"])[0]))
    except ValueError:
        page = 1
    return words, sort, page


def _entry(a: Article, collection: str, origin: str, has_shot: bool) -> str:
    quoted = quote(a.url, safe=":/?&=%")
    side = f"/_sidecar/{collection}/{a.ts}/{quoted}"
    replayed = origin + replay_url(collection, a.ts, a.url)
    captures = origin + replay_url(collection, "*", a.url)
    thumb = (f"<img class='thumb' loading='lazy' alt='screenshot' "
             f"src='{_e(f'/_screenshot/{collection}/{a.ts}/{quoted}')}'>" if has_shot else "")
    meta = [m for m in (a.publisher, a.authors) if m]
    if a.published:
        meta.append(f"published {readable_date(a.published)}")
    meta.append(f"captured {readable_ts(a.ts)}")
    return (
        f"<li class='article' data-url='{_e(a.url)}'>{thumb}<div>"
        f"<a class='title' href='{_e(side)}'>{_e(a.title or a.url)}</a>"
        f"<div class='meta'>{' &middot; '.join(_e(m) for m in meta)}</div>"
        f"<div class='meta url'>{_e(a.url)}</div>"
        f"<div class='links'><a class='replay' href='{_e(replayed)}' target='_blank' "
        f"rel='noopener noreferrer'>replayed page</a><a class='sidecar' href='{_e(side)}'>"
        f"sidecar</a><a class='captures' href='{_e(captures)}' target='_blank' "
        f"rel='noopener noreferrer'>all captures</a></div></div></li>"
    )


def list_page(index: ArticleIndex, collection: str, origin: str, environ: dict[str, Any],
              style: str) -> str:
    """The article list page (see the module docstring)."""
    words, sort, page = _query(environ)
    total, articles = index.search(words, sort, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    shots = index.screenshot_urls([a.url for a in articles])
    pages = max(1, -(-total // PAGE_SIZE))

    def link(n: int) -> str:
        return "/?" + urlencode({k: v for k, v in (("q", words), ("sort", sort), ("page", n)) if v})

    options = "".join(f"<option value='{k}'{' selected' if k == sort else ''}>{_e(v)}</option>"
                      for k, v in SORT_LABELS.items())
    pager = []
    if page > 1:
        pager.append(f"<a rel='prev' href='{_e(link(page - 1))}'>&larr; previous</a>")
    pager.append(f"<span>page {min(page, pages)} of {pages}</span>")
    if page < pages:
        pager.append(f"<a rel='next' href='{_e(link(page + 1))}'>next &rarr;</a>")
    found = (f"{total} article{'s' if total != 1 else ''} matching “{_e(words)}”" if words
             else f"{total} articles with sidecars")
    items = "".join(_entry(a, collection, origin, a.url in shots) for a in articles)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(collection)}"
        f"</title><style>{style}{STYLE}</style></head><body><header><h1>{_e(collection)}</h1>"
        f"<div class='meta'><span id='found'>{found}</span> &middot; "
        f"<a href='{_e(origin)}/{_e(collection)}/'>search the replay by URL</a></div>"
        f"<form class='search' method='get' action='/' role='search'>"
        f"<input type='search' name='q' value='{_e(words)}' placeholder='words of the title, "
        f"text, publisher or author' aria-label='search articles'>"
        f"<select name='sort' aria-label='sort'>{options}</select>"
        f"<button type='submit'>Search</button></form></header>"
        f"<div style='padding:0 20px'><ol class='articles'>{items}</ol>"
        f"<p class='pager'>{''.join(pager)}</p></div></body></html>"
    )
