"""Template ``classic``: semantic ``<article>`` markup, schema.org JSON-LD, plain transfer.

The easy case for extractors: ``<p>`` paragraphs in an ``<article>``, a
"By NAME" byline, ``<div class="ad-slot">ADVERTISEMENT</div>`` between
paragraphs and a "Related stories" ``<aside>``. Served with Content-Length.
"""

from __future__ import annotations

from newsarchive.demosite import layout
from newsarchive.demosite import vocabulary as v
from newsarchive.demosite.content import Article
from newsarchive.demosite.layout import byline_names, esc, json_ld
from newsarchive.demosite.templates import (
    ArticleTemplate,
    SiteContext,
    documents_html,
    register_template,
)

_NAME = '<span class="byline-name">{}</span>'


class Classic(ArticleTemplate):
    """A broadsheet's article page."""

    name = "classic"
    transfer = "length"
    related_count = 5
    related_summaries = True
    labels = ("ADVERTISEMENT", "Related stories")

    def render(self, article: Article, ctx: SiteContext) -> str:
        url = ctx.url(article.path)
        ld = layout.news_article(
            article,
            url=url,
            mainEntityOfPage=url,
            articleSection=v.SECTION_TITLES[article.section],
            image=ctx.url(layout.PHOTO_PATH),
        )
        if article.dateline:
            ld["dateline"] = article.dateline
        ads = set(self.ad_positions(article))
        body = []
        for i, para in enumerate(article.paragraphs):
            body.append(f"<p>{esc(para)}</p>")
            if i in ads:
                body.append(
                    f'<div class="ad-slot" data-creative="{self.creative(article, ctx, i)}">'
                    "ADVERTISEMENT</div>"
                )
        source = (
            f' <span class="source">{esc(article.publisher)}</span>' if article.wire else ""
        )
        related = "".join(
            f'<li><a href="{esc(ctx.url(r.path))}">{esc(r.title)}</a>'
            f'<p class="summary">{esc(r.summary)}</p></li>'
            for r in ctx.related(article)
        )
        when = article.published_at
        return (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="{article.charset}">'
            f"<title>{esc(article.title)} | {esc(v.SITE_NAME)}</title>"
            f'<link rel="canonical" href="{esc(url)}">'
            f'<meta name="description" content="{esc(article.summary)}">'
            f"{layout.head_links()}"
            f'<script type="application/ld+json">{json_ld(ld)}</script>'
            f'</head>\n<body class="classic">{layout.masthead()}\n'
            f'<div class="ad-slot ad-leaderboard" data-creative="{self.creative(article, ctx, 99)}">'
            "ADVERTISEMENT</div>\n<main>\n"
            '<article class="story"><header>'
            f'<p class="kicker"><a href="{layout.section_path(article.section)}">'
            f"{esc(v.SECTION_TITLES[article.section])}</a></p>"
            f"<h1>{esc(article.title)}</h1>"
            f'<p class="byline">By {byline_names(article.authors, _NAME)}{source}</p>'
            f'<time datetime="{article.published}">{layout.human_date(when)}</time></header>\n'
            f'<figure><img src="{layout.PHOTO_PATH}" alt="" width="64" height="40"></figure>\n'
            '<div class="story-text">\n' + "\n".join(body) + "\n</div></article>\n"
            f'<aside class="related"><h2>Related stories</h2><ul>{related}</ul></aside>\n'
            f"{documents_html(article)}</main>\n{layout.footer()}</body></html>\n"
        )


register_template(Classic())
