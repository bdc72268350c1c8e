"""Template ``portal``: generated wire stories in the chrome of a real portal page.

The chrome (header bar, ``caas-*`` story container, in-story ``caas-da`` ad
slots, the "Latest Stories" stream, the bottom ad, footer) is the Yahoo
wire-story fixture (``data/yahoo.html``), cut into a template once at import:
only the story's own parts are substituted, so a generated page extracts
exactly like the fixture. The fixture itself is also served byte for byte at
:data:`FIXTURE_PATH`. Pages of this template are gzip-encoded.
"""

from __future__ import annotations

import functools
import json
import pathlib
import re

from newsarchive.demosite import layout
from newsarchive.demosite import vocabulary as v
from newsarchive.demosite.content import Article
from newsarchive.demosite.layout import esc, json_ld
from newsarchive.demosite.templates import ArticleTemplate, SiteContext, register_template

DATA = pathlib.Path(__file__).parent / "data"
FIXTURE_PATH = "/portal/belarus-pardons.html"
FIXTURE_HTML = (DATA / "yahoo.html").read_bytes()
FIXTURE_EXPECTED = json.loads((DATA / "yahoo.expected.json").read_text(encoding="utf-8"))

# (pattern, slot): each pattern must match the fixture exactly once; group 1
# and group 2 (when present) are kept around the slot.
_CUTS = (
    (r"(<meta charset=')utf-8(')", "charset"),
    (r"(<title>).*?(</title>)", "title"),
    (r"(<link rel='canonical' href=')[^']*(')", "url"),
    (r"(<script type='application/ld\+json'>).*?(</script>)", "jsonld"),
    (r"(<div id='ybar'><nav><ul>\n).*?(</ul></nav>)", "nav"),
    (r"(<h1 data-test-locator='headline'>).*?(</h1>)", "title"),
    (r"(<span class='caas-author-byline-collapse'>).*?(</span>)", "authors"),
    (r"(<time datetime=')[^']*(')", "datetime"),
    (r"(<time datetime='[^']*'>)[^<]*(</time>)", "timetext"),
    (r"(<span>·)\d+( min read</span>)", "minutes"),
    (r"(<div class='caas-body'>\n).*?(</div></article>)", "body"),
    (r"(<ul class='stream-items'>\n).*?(</ul></div>)", "stream"),
)


def _slot(slot: str, match: re.Match[str]) -> str:
    """A cut point: the text around it, and the slot's name between NUL marks."""
    return f"{match[1]}\x00{slot}\x00{match[2]}"


def _cut(fixture: str) -> list[str]:
    """The fixture as alternating literal text and slot names."""
    for pattern, slot in _CUTS:
        fixture, count = re.subn(pattern, functools.partial(_slot, slot), fixture, flags=re.S)
        if count != 1:
            raise RuntimeError(f"portal fixture: {pattern!r} matched {count} times, not once")
    return fixture.split("\x00")


_PARTS = _cut(FIXTURE_HTML.decode("utf-8"))


class Portal(ArticleTemplate):
    """A news portal's syndicated wire story (Yahoo-style)."""

    name = "portal"
    transfer = "gzip"
    wire_only = True
    related_count = 8
    related_summaries = True
    labels = ("ADVERTISEMENT", "Latest Stories", "min read")

    def ad_positions(self, article: Article) -> list[int]:
        n = len(article.paragraphs)
        return list(range(min(3, n - 2), n - 1, 5))

    def render(self, article: Article, ctx: SiteContext) -> str:
        when = article.published_at
        ads = set(self.ad_positions(article))
        body = []
        for i, para in enumerate(article.paragraphs):
            body.append(f"<p>{esc(para)}</p>\n")
            if i in ads:
                body.append(
                    "<div class='caas-da'><div class='ad-label'>ADVERTISEMENT</div>"
                    f"<div id='sda-INARTICLE-{i + 1}' class='sda' "
                    f"data-creative='{self.creative(article, ctx, i)}'></div></div>\n"
                )
        body.append(
            f"<p class='caas-credit'>{esc(', '.join(article.authors))}, "
            f"{esc(article.publisher)}</p>"
        )
        stream = "".join(
            "<li class='stream-item'><div class='stream-item-title'>"
            f"<a href='{esc(ctx.url(r.path))}'><h3>{esc(r.title)}</h3></a></div>"
            f"<p class='stream-summary'>{esc(r.summary)}</p></li>\n"
            for r in ctx.related(article)
        )
        nav = "<li><a href='/'>Home</a></li>\n" + "".join(
            f"<li><a href='{layout.section_path(s)}'>{esc(v.SECTION_TITLES[s])}</a></li>\n"
            for s in v.SECTIONS
        )
        words = sum(len(p.split()) for p in article.paragraphs)
        hour = when.hour % 12 or 12
        values = {
            "charset": article.charset,
            "title": esc(article.title),
            "url": esc(ctx.url(article.path)),
            "jsonld": json_ld(layout.news_article(article)),
            "nav": nav,
            "authors": esc(" and ".join(article.authors)),
            "datetime": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "timetext": f"{when:%a, %B} {when.day}, {when.year} at {hour}:{when:%M} "
            f"{'AM' if when.hour < 12 else 'PM'} UTC",
            "minutes": str(max(1, round(words / 200))),
            "body": "".join(body),
            "stream": stream,
        }
        return "".join(values[p] if i % 2 else p for i, p in enumerate(_PARTS))


register_template(Portal())
