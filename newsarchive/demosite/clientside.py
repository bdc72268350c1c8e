"""Template ``clientside``: the story exists only after the page's script runs.

The page as served is a shell -- head metadata, masthead, an empty
``<div id="root" data-story=...>`` and a ``<noscript>`` wall -- plus
``/static/story-app.js``, which fetches the story as JSON by XHR from
``/api/story/N.json`` (same site) and builds the article in the root: title,
byline, paragraphs with ``ADVERTISEMENT`` slots, and a "Related stories" rail,
like the ``classic`` template. Extraction from the static HTML finds no story;
from the rendered DOM it finds all of it. Used to test ``RENDER_MODE``.

Not in the default rotation (it would make every crawl start a browser);
:func:`use_clientside` adds it, e.g. before building a ``DemoSite`` in a test.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from newsarchive.demosite import layout
from newsarchive.demosite import vocabulary as v
from newsarchive.demosite.content import Article
from newsarchive.demosite.layout import byline_names, esc, json_ld
from newsarchive.demosite.templates import (
    ArticleTemplate,
    Resource,
    SiteContext,
    register_template,
)

APP_PATH = "/static/story-app.js"
NAME = "clientside"

APP_JS = """\
/* The Loopback Courier story app: builds the article from /api/story/N.json */
(function () {
  var root = document.getElementById('root');
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c];
    });
  }
  var xhr = new XMLHttpRequest();
  xhr.open('GET', root.getAttribute('data-story'));
  xhr.onload = function () {
    var d = JSON.parse(xhr.responseText);
    var ads = {};
    d.ads.forEach(function (a) { ads[a.after] = a.creative; });
    var body = d.paragraphs.map(function (p, i) {
      return '<p>' + esc(p) + '</p>' + (i in ads ?
        '<div class="ad-slot" data-creative="' + esc(ads[i]) + '">ADVERTISEMENT</div>' : '');
    }).join('\\n');
    var related = d.related.map(function (r) {
      return '<li><a href="' + esc(r.url) + '">' + esc(r.title) + '</a>' +
        '<p class="summary">' + esc(r.summary) + '</p></li>';
    }).join('');
    root.innerHTML = '<main><article class="story"><header>' +
      '<p class="kicker">' + esc(d.section) + '</p><h1>' + esc(d.title) + '</h1>' +
      '<p class="byline">By ' + d.byline_html + '</p>' +
      '<time datetime="' + esc(d.published) + '">' + esc(d.published_text) + '</time></header>' +
      '<div class="story-text">\\n' + body + '\\n</div></article>' +
      '<aside class="related"><h2>Related stories</h2><ul>' + related + '</ul></aside></main>';
    document.body.setAttribute('data-rendered', 'true');
  };
  xhr.send();
})();
"""


def story_path(article: Article) -> str:
    """Where the page's script fetches its story."""
    return f"/api/story/{article.number}.json"


class ClientSide(ArticleTemplate):
    """An article page built in the browser by a script."""

    name = NAME
    transfer = "length"
    related_count = 5
    related_summaries = True
    labels = ("ADVERTISEMENT", "Related stories")

    def render(self, article: Article, ctx: SiteContext) -> str:
        url = ctx.url(article.path)
        ld = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": article.title,
            "url": url,
            "datePublished": article.published,
            "author": [{"@type": "Person", "name": a} for a in article.authors],
            "publisher": {"@type": "Organization", "name": article.publisher},
        }
        return (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="{article.charset}">'
            f"<title>{esc(article.title)} | {esc(v.SITE_NAME)}</title>"
            f'<link rel="canonical" href="{esc(url)}">'
            f"{layout.head_links()}"
            f'<script type="application/ld+json">{json_ld(ld)}</script>'
            f'<script src="{APP_PATH}" defer></script>'
            f'</head>\n<body class="clientside">{layout.masthead()}\n'
            "<noscript>This story needs JavaScript.</noscript>\n"
            f'<div id="root" data-story="{story_path(article)}"></div>\n'
            f"{layout.footer()}</body></html>\n"
        )

    def story_json(self, article: Article, ctx: SiteContext) -> bytes:
        """The story as the page's script receives it."""
        source = f' <span class="source">{esc(article.publisher)}</span>' if article.wire else ""
        data = {
            "title": article.title,
            "section": v.SECTION_TITLES[article.section],
            "published": article.published,
            "published_text": layout.human_date(article.published_at),
            "byline_html": byline_names(article.authors, '<span class="byline-name">{}</span>')
            + source,
            "paragraphs": list(article.paragraphs),
            "ads": [
                {"after": i, "creative": self.creative(article, ctx, i)}
                for i in self.ad_positions(article)
            ],
            "related": [
                {"title": r.title, "url": ctx.url(r.path), "summary": r.summary}
                for r in ctx.related(article)
            ],
        }
        return json.dumps(data, ensure_ascii=False).encode("utf-8")

    def resources(self, article: Article, ctx: SiteContext) -> Iterable[Resource]:
        """The shared script and this article's story JSON."""
        yield Resource(APP_PATH, "application/javascript; charset=utf-8", lambda: APP_JS.encode())
        yield Resource(
            story_path(article), "application/json; charset=utf-8",
            lambda: self.story_json(article, ctx),
        )


def use_clientside(weight: int = 1) -> None:
    """Put ``clientside`` in the rotation (``weight`` slots); 0 takes it out again.

    Sites built afterwards use the rotation of that moment; a built site keeps its own.
    """
    register_template(ClientSide(), weight=weight)
