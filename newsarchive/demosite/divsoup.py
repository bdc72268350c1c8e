"""Template ``divsoup``: nested utility-class divs, Open Graph metadata, chunked transfer.

The look of a modern CMS: no ``<article>``, paragraphs as
``<p class="c-paragraph">`` deep inside ``div.story-body``, the byline in
``<span class="author">``, "Sponsored" teaser blocks between paragraphs and a
"Most read" list in the rail; metadata only as Open Graph / ``article:*``
meta tags. Served with ``Transfer-Encoding: chunked``.
"""

from __future__ import annotations

from newsarchive.demosite import layout
from newsarchive.demosite import vocabulary as v
from newsarchive.demosite.content import Article
from newsarchive.demosite.layout import byline_names, esc
from newsarchive.demosite.templates import (
    AD_SERVER,
    ArticleTemplate,
    SiteContext,
    documents_html,
    register_template,
)

_AUTHOR = '<span class="author">{}</span>'


class DivSoup(ArticleTemplate):
    """A CMS-built page where every element is a div with a utility class."""

    name = "divsoup"
    transfer = "chunked"
    related_count = 5
    labels = ("Sponsored", "Most read")

    def ad_positions(self, article: Article) -> list[int]:
        return list(range(2, len(article.paragraphs) - 1, 3))

    def teasers(self, article: Article) -> list[str]:
        count = len(self.ad_positions(article))
        return [v.TEASERS[(article.number + k) % len(v.TEASERS)] for k in range(count)]

    def render(self, article: Article, ctx: SiteContext) -> str:
        url = ctx.url(article.path)
        teasers = iter(self.teasers(article))
        ads = set(self.ad_positions(article))
        body = []
        for i, para in enumerate(article.paragraphs):
            body.append(f'<div class="c-paragraph-wrap"><p class="c-paragraph">{esc(para)}</p></div>')
            if i in ads:
                creative = self.creative(article, ctx, i)
                body.append(
                    f'<div class="c-promo c-promo--sponsored" data-creative="{creative}">'
                    '<span class="c-promo__label">Sponsored</span>'
                    f'<a href="{AD_SERVER}/r/{creative}" rel="sponsored nofollow">'
                    f'<div class="c-promo__title">{esc(next(teasers))}</div></a></div>'
                )
        meta = [
            ("og:title", article.title),
            ("og:type", "article"),
            ("og:url", url),
            ("og:site_name", v.SITE_NAME),
            ("og:description", article.summary),
            ("og:image", ctx.url(layout.PHOTO_PATH)),
            ("article:published_time", article.published),
            ("article:section", v.SECTION_TITLES[article.section]),
            *(("article:author", a) for a in article.authors),
        ]
        metas = "".join(f'<meta property="{k}" content="{esc(c)}">' for k, c in meta)
        source = (
            f' <span class="c-byline__source">{esc(article.publisher)}</span>'
            if article.wire
            else ""
        )
        most_read = "".join(
            f'<li class="c-most-read__item"><a href="{esc(ctx.url(r.path))}">{esc(r.title)}</a></li>'
            for r in ctx.related(article)
        )
        nav = "".join(
            f'<div class="c-nav__item"><a href="{layout.section_path(s)}">'
            f"{esc(v.SECTION_TITLES[s])}</a></div>"
            for s in v.SECTIONS
        )
        return (
            f'<!doctype html>\n<html><head><meta charset="{article.charset}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(article.title)} - {esc(v.SITE_NAME)}</title>{metas}"
            f'<meta name="publisher" content="{esc(article.publisher)}">'
            f"{layout.head_links()}</head>\n"
            '<body><div id="app"><div class="l-container">'
            '<div class="c-header"><div class="c-header__logo"><a href="/">'
            f'<img src="{layout.LOGO_PATH}" alt="{esc(v.SITE_NAME)}"></a></div>'
            f'<div class="c-nav">{nav}</div></div>\n'
            '<div class="l-main"><div class="l-col l-col--main"><div class="c-article">'
            '<div class="c-article__head"><div class="c-headline">'
            f'<h1 class="c-headline__text">{esc(article.title)}</h1></div>'
            f'<div class="c-byline">By {byline_names(article.authors, _AUTHOR)}{source}'
            f' <span class="c-timestamp" data-ts="{article.published}">'
            f"{layout.human_date(article.published_at)}</span></div></div>\n"
            f'<div class="c-media"><img src="{layout.PHOTO_PATH}" alt=""></div>\n'
            '<div class="story-body">\n' + "\n".join(body) + "\n</div>"
            f"{documents_html(article)}</div></div>\n"
            '<div class="l-col l-col--rail"><div class="c-most-read">'
            f'<div class="c-most-read__heading">Most read</div><ol>{most_read}</ol></div></div>'
            '</div>\n<div class="c-footer"><a href="/about.html">About us</a> '
            f"<span>© 2026 {esc(v.SITE_NAME)}</span></div></div></div></body></html>\n"
        )


register_template(DivSoup())
