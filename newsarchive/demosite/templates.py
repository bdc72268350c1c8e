"""Article templates of the demo site and the registry that picks one per article.

A template turns an :class:`~newsarchive.demosite.content.Article` into a page
and says what furniture (ad slots, rails, teasers) that page carries, so the
site can state the extraction truth without parsing its own HTML. Built-in
templates: ``classic`` (:mod:`.classic`), ``divsoup`` (:mod:`.divsoup`) and
``portal`` (:mod:`.portal`, built from the Yahoo wire-story fixture).

Articles take templates in rotation: article *i* gets ``rotation()[i % n]``,
where each template appears ``weight`` times.

Adding a template (for example a client-rendered one, whose story only exists
after a script runs)::

    from newsarchive.demosite.templates import ArticleTemplate, Resource, register_template

    class ClientRendered(ArticleTemplate):
        name = "clientside"
        transfer = "length"          # or "gzip" / "chunked"
        labels = ("ADVERTISEMENT", "Related stories")

        def render(self, article, ctx):
            # an empty app root plus <script src="/static/app.js"> that fetches
            # ctx.url(f"/api/story/{article.number}.json") and inserts the story
            ...

        def resources(self, article, ctx):
            # extra URLs the page needs; a path returned by many articles is served once
            yield Resource("/static/app.js", "application/javascript", lambda: APP_JS)
            yield Resource(f"/api/story/{article.number}.json", "application/json",
                           lambda: json.dumps({...}).encode())

    register_template(ClientRendered(), weight=1)   # before DemoSite() is built

or add the module's name to ``_BUILTINS`` to ship it with the site. The truth
(``site.expected_sidecar``) follows from ``ad_positions``, ``labels``,
``teasers`` and ``related_count``, so a new template only has to keep its page
consistent with them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from newsarchive.demosite.content import Article

_BUILTINS = ("classic", "divsoup", "portal")
_REGISTRY: dict[str, ArticleTemplate] = {}
_WEIGHTS: dict[str, int] = {}
_loaded = False

AD_SERVER = "https://ads.example.net"
DOCUMENT_LINK = "Download the full report (PDF)"


@dataclass(frozen=True)
class SiteContext:
    """What a template may know about the site while rendering one page."""

    base_url: str  # "http://127.0.0.1:8000" (no trailing slash)
    day: int
    articles: Mapping[str, Article]  # by path

    def url(self, path: str) -> str:
        """Absolute URL of a site path."""
        return self.base_url + path

    def related(self, article: Article) -> list[Article]:
        """The articles its rail links to, in order."""
        return [self.articles[p] for p in article.related]


@dataclass(frozen=True)
class Resource:
    """An extra URL a template's pages need (script, JSON, font...)."""

    path: str
    content_type: str
    render: Callable[[], bytes]
    transfer: str = "length"
    kind: str = "resource"
    listed: bool = True  # False: only a browser finds it (XHR), so a static crawl cannot


class ArticleTemplate:
    """Base of article templates; subclasses set the class attributes and :meth:`render`."""

    name: str = ""
    transfer: str = "length"  # "length" (Content-Length), "gzip" or "chunked"
    wire_only: bool = False  # only wire copy gets this template
    related_count: int = 5  # links in the related-story rail
    related_summaries: bool = False  # the rail shows each story's summary
    labels: tuple[str, ...] = ()  # ad labels and rail headings shown on its pages

    def ad_positions(self, article: Article) -> list[int]:
        """Indices of the paragraphs an in-story ad slot follows."""
        n = len(article.paragraphs)
        return list(range(1, n - 1, 3))

    def teasers(self, article: Article) -> list[str]:
        """Advertisers' teaser headlines shown on its page."""
        return []

    def creative(self, article: Article, ctx: SiteContext, slot: int) -> str:
        """Id of the ad shown in ``slot``: changes every day for ``rotating_ads`` pages."""
        day = ctx.day if article.rotating_ads else 1
        return f"cr-{article.number}-{slot}-d{day}"

    def must_not_contain(self, article: Article, ctx: SiteContext) -> list[str]:
        """Furniture text that must never appear in the extracted story."""
        titles = [a.title for a in ctx.related(article)]
        docs = [DOCUMENT_LINK] if article.attachments else []
        return [*self.labels, *titles, *self.teasers(article), *docs]

    def render(self, article: Article, ctx: SiteContext) -> str:
        """The page's HTML (the site encodes it in ``article.charset``)."""
        raise NotImplementedError

    def resources(self, article: Article, ctx: SiteContext) -> Iterable[Resource]:
        """Extra URLs its pages load; none by default."""
        return ()


def documents_html(article: Article) -> str:
    """The box linking the article's documents (PDFs), empty when it has none."""
    if not article.attachments:
        return ""
    links = "".join(f'<li><a href="{p}">{DOCUMENT_LINK}</a></li>' for p in article.attachments)
    return f'<aside class="documents"><h2>Documents</h2><ul>{links}</ul></aside>'


def register_template(template: ArticleTemplate, weight: int = 1) -> None:
    """Add ``template`` to the rotation (``weight`` slots of it); replaces a same-named one."""
    _load_builtins()  # built-ins keep their place at the front of the rotation
    if not template.name:
        raise ValueError("a template needs a name")
    if template.transfer not in {"length", "gzip", "chunked"}:
        raise ValueError(f"template {template.name}: unknown transfer {template.transfer!r}")
    _REGISTRY[template.name] = template
    _WEIGHTS[template.name] = max(0, weight)


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in _BUILTINS:
            importlib.import_module(f"newsarchive.demosite.{module}")


def get_template(name: str) -> ArticleTemplate:
    """The registered template called ``name``."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown demo-site template {name!r}; registered: {known}") from None


def rotation() -> tuple[str, ...]:
    """Template names in the order articles take them."""
    _load_builtins()
    return tuple(name for name, weight in _WEIGHTS.items() for _ in range(weight))
