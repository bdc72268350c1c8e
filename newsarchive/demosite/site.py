"""The demo site as data: every URL, how it is served, and the truth about its articles.

:class:`SiteModel` is the site on one day at one base URL, without any
networking: a route table (path -> :class:`Route`), bodies rendered once on
first use and cached, the list a complete crawl should archive
(:meth:`SiteModel.pages`) and the expected sidecar of each article
(:meth:`SiteModel.expected_sidecar`). :mod:`newsarchive.demosite.server`
puts it on a socket.

Special URLs (each behaviour on a known path):

========================================  ==========================================
``/robots.txt``                            ``Disallow: /private/`` and two ``Sitemap:`` lines
``/private/secret.html``                   a real page, linked from home, robots-disallowed
``/sitemap.xml``                           sitemap index -> articles, sections, news sitemaps,
                                           each with its own ``<lastmod>``
``/sitemap-articles.xml``, ``-2.xml``...   articles, oldest first, :data:`SITEMAP_PAGE_SIZE`
                                           a page: a new article changes only the last page
``/news-sitemap.xml``                      Google News sitemap (last 48 h, at least 10)
``/feed.xml``, ``/atom.xml``               RSS 2.0 and Atom, gzip-encoded
portal-template articles                   gzip-encoded (when Accept-Encoding allows)
divsoup-template articles                  ``Transfer-Encoding: chunked`` (4 chunks)
classic-template articles, most pages      plain ``Content-Length``
``/old/<slug>``                            301 to the article (linked from home for 2 articles)
``/latest``                                302 to the newest article
:data:`BROKEN_PATH` and any unknown path   404 with an HTML body
the article at :data:`NON_UTF8_INDEX`      windows-1252, in the header and a meta tag
``/about.html``                            ``Content-Type: text/html`` (no charset), gzip
``/static/img/*.png``, ``/ad.png``         PNG images (articles embed photo.png)
:data:`PDF_PATH`                           a PDF linked from the article at :data:`PDF_INDEX`
``/static/site.css``                       stylesheet
:data:`FIXTURE_PATH`                       the Yahoo fixture page, byte for byte
========================================  ==========================================
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import functools
import gzip
import hashlib
import random
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from newsarchive.demosite import assets, layout, pages
from newsarchive.demosite import vocabulary as v
from newsarchive.demosite.content import Article, count_on, day_end, writer
from newsarchive.demosite.portal import FIXTURE_EXPECTED, FIXTURE_HTML, FIXTURE_PATH
from newsarchive.demosite.templates import (
    ArticleTemplate,
    SiteContext,
    get_template,
    rotation,
)

HTML = "text/html; charset=utf-8"
XML = "application/xml; charset=utf-8"
PDF_PATH = "/documents/report-2026.pdf"
SITEMAP_PAGE_SIZE = 1000  # articles per article sitemap (sitemaps.org allows 50,000)
PRIVATE_PATH = "/private/secret.html"
ABOUT_PATH = "/about.html"
BROKEN_PATH = "/world/2026/01/01/withdrawn-story.html"
LATEST_PATH = "/latest"
OLD_PREFIX = "/old/"
NON_UTF8_INDEX = 3  # this article is served in windows-1252
NON_UTF8_CHARSET = "windows-1252"
PDF_INDEX = 1  # this article links the PDF
ROTATING_EVERY = 5  # articles whose index is a multiple of this change ads daily
NEWS_WINDOW_HOURS = 48
MIN_NEWS = 10


def article_sitemap_path(n: int) -> str:
    """Path of the ``n``-th article sitemap (1-based): ``/sitemap-articles.xml``, then
    ``/sitemap-articles-2.xml``..."""
    return "/sitemap-articles.xml" if n == 1 else f"/sitemap-articles-{n}.xml"


@dataclass(frozen=True)
class Route:
    """One URL of the site and how it is served."""

    path: str
    kind: str  # home, section, article, robots, sitemap, feed, redirect, not_found, image...
    status: int = 200
    content_type: str = HTML
    transfer: str = "length"  # "length", "gzip" (when accepted) or "chunked"
    render: Callable[[], bytes] | None = None
    location: str | None = None  # absolute target of a redirect
    listed: bool = True  # linked from the site, so a complete crawl reaches it
    disallowed: bool = False  # robots.txt forbids it


@dataclass(frozen=True)
class PageInfo:
    """A URL a complete crawl meets, with what the server answers."""

    url: str
    path: str
    status: int
    content_type: str
    transfer: str
    kind: str
    disallowed: bool
    location: str | None


class SiteModel:
    """The demo site on ``day`` at ``base_url`` (``http://host:port``, no trailing slash)."""

    def __init__(
        self, base_url: str, base_count: int = 60, day: int = 1, templates: Sequence[str] = ()
    ) -> None:
        if base_count < 1:
            raise ValueError("the demo site needs at least one article")
        if day < 1:
            raise ValueError("days start at 1")
        self.base_url = base_url.rstrip("/")
        self.base_count = base_count
        self.day = day
        names = tuple(templates) or rotation()
        self.templates: dict[str, ArticleTemplate] = {n: get_template(n) for n in names}
        pattern = tuple(self.templates[n].wire_only for n in names)
        written = writer(base_count, pattern).articles(count_on(day, base_count))
        paths = [a.path for a in written]  # placement does not move an article
        self.articles: list[Article] = [self._place(a, names, paths) for a in written]
        self.by_path = {a.path: a for a in self.articles}
        self.ctx = SiteContext(self.base_url, day, self.by_path)
        self.routes: dict[str, Route] = {}
        self._bodies: dict[str, bytes] = {}
        self._gzipped: dict[str, bytes] = {}
        self._build_routes()

    # -- articles ----------------------------------------------------------

    def _place(self, article: Article, names: Sequence[str], paths: Sequence[str]) -> Article:
        i = article.index
        template = self.templates[names[i % len(names)]]
        placed = dataclasses.replace(
            article,
            template=template.name,
            charset=NON_UTF8_CHARSET if i == min(NON_UTF8_INDEX, self.base_count - 1) else "utf-8",
            attachments=(PDF_PATH,) if i == min(PDF_INDEX, self.base_count - 1) else (),
            rotating_ads=i % ROTATING_EVERY == 0,
            related=tuple(paths[j] for j in self._related(article, template)),
        )
        # Set on the copy just made, before anyone sees it: one dataclasses.replace
        # per article instead of three (a 100,000-article site starts ~10 s sooner).
        object.__setattr__(placed, "ads_count", len(template.ad_positions(placed)))
        return placed

    def _related(self, article: Article, template: ArticleTemplate) -> list[int]:
        """Indices its rail links to: articles of its own day or older, so the rail
        (and the page) stays the same on later days."""
        pool = count_on(article.day, self.base_count)
        want = template.related_count
        picks = random.Random(f"related:{article.index}").sample(range(pool), min(pool, want + 1))
        return [j for j in picks if j != article.index][:want]

    def newest_first(self) -> list[Article]:
        """Articles of the day, newest first."""
        return self.articles[::-1]

    def article(self, url_or_path: str) -> Article:
        """The article at a URL or path (KeyError if there is none)."""
        return self.by_path[urllib.parse.urlsplit(url_or_path).path]

    # -- routes ------------------------------------------------------------

    def _add(self, route: Route) -> None:
        self.routes.setdefault(route.path, route)

    def _text(self, make: Callable[[], str], charset: str = "utf-8") -> Callable[[], bytes]:
        return lambda: make().encode(charset, "xmlcharrefreplace")

    def _build_routes(self) -> None:
        ctx, newest = self.ctx, self.newest_first()
        old_linked = self.articles[:2]
        specials = [
            (LATEST_PATH, "Latest story"),
            *((OLD_PREFIX + a.slug, f"Archive: {a.title}") for a in old_linked),
            (FIXTURE_PATH, "From the wires: Belarus pardons"),
            (ABOUT_PATH, "About us"),
            (PRIVATE_PATH, "Staff only"),
            (BROKEN_PATH, "A story we withdrew"),
            (layout.FEED_PATH, "RSS feed"),
            (layout.ATOM_PATH, "Atom feed"),
        ]
        self._add(Route("/", "home", render=self._text(
            lambda: pages.home(newest[: pages.HOME_LATEST], specials))))
        self._add(Route("/robots.txt", "robots", content_type="text/plain; charset=utf-8",
                        render=self._text(lambda: pages.robots(
                            ctx, ["/private/"], ["/sitemap.xml", "/news-sitemap.xml"]))))
        self._add_sections(newest)
        self._add_sitemaps(newest)
        feed_items = newest[: pages.FEED_SIZE]
        self._add(Route(layout.FEED_PATH, "feed", content_type="application/rss+xml; charset=utf-8",
                        transfer="gzip", render=self._text(lambda: pages.rss(ctx, feed_items))))
        self._add(Route(layout.ATOM_PATH, "feed",
                        content_type="application/atom+xml; charset=utf-8", transfer="gzip",
                        render=self._text(lambda: pages.atom(ctx, feed_items))))
        for a in self.articles:
            self._add_article(a, listed_old=a in old_linked)
        self._add(Route(LATEST_PATH, "redirect", status=302, location=ctx.url(newest[0].path)))
        self._add_static()

    def _add_sections(self, newest: Sequence[Article]) -> None:
        size = pages.SECTION_PAGE_SIZE
        for section in v.SECTIONS:
            items = [a for a in newest if a.section == section]
            count = max(1, -(-len(items) // size))
            for n in range(1, count + 1):
                chunk = items[(n - 1) * size : n * size]
                front = functools.partial(pages.section_front, section, n, count, chunk)
                self._add(Route(layout.section_path(section, n), "section",
                                render=self._text(front)))

    def _add_sitemaps(self, newest: Sequence[Article]) -> None:
        ctx = self.ctx
        lastmod = newest[0].published.replace("Z", "+00:00")
        cutoff = day_end(self.day).timestamp() - NEWS_WINDOW_HOURS * 3600
        recent = [a for i, a in enumerate(newest)
                  if i < MIN_NEWS or a.published_at.timestamp() >= cutoff][:1000]
        section_entries = [("/", lastmod)] + [
            (layout.section_path(s), next((pages.article_entries([a])[0][1] for a in newest
                                           if a.section == s), lastmod))
            for s in v.SECTIONS
        ]
        # Oldest first, so a new article changes only the last page (and its lastmod in
        # the index), as the monthly or numbered sitemaps of real news sites do.
        size = SITEMAP_PAGE_SIZE
        children: list[tuple[str, str]] = []
        makers: dict[str, Callable[[], str]] = {}
        for n, start in enumerate(range(0, len(self.articles), size), start=1):
            chunk = self.articles[start:start + size]
            path = article_sitemap_path(n)
            children.append((path, pages.article_entries(chunk[-1:])[0][1]))
            makers[path] = functools.partial(
                lambda part: pages.urlset(ctx, pages.article_entries(part)), chunk)
        children += [("/sitemap-sections.xml", lastmod), ("/news-sitemap.xml", lastmod)]
        makers.update({
            "/sitemap.xml": lambda: pages.sitemap_index(ctx, children),
            "/sitemap-sections.xml": lambda: pages.urlset(ctx, section_entries),
            "/news-sitemap.xml": lambda: pages.news_sitemap(ctx, recent),
        })
        for path, make in makers.items():
            self._add(Route(path, "sitemap", content_type=XML, render=self._text(make)))

    def _add_article(self, article: Article, listed_old: bool) -> None:
        template = self.templates[article.template]
        self._add(Route(
            article.path, "article",
            content_type=f"text/html; charset={article.charset}",
            transfer=template.transfer,
            render=self._text(lambda: template.render(article, self.ctx), article.charset),
        ))
        self._add(Route(OLD_PREFIX + article.slug, "redirect", status=301,
                        location=self.ctx.url(article.path), listed=listed_old))
        for res in template.resources(article, self.ctx):
            self._add(Route(res.path, res.kind, content_type=res.content_type,
                            transfer=res.transfer, render=res.render, listed=res.listed))

    def _add_static(self) -> None:
        def const(data: bytes) -> Callable[[], bytes]:
            return lambda: data

        pdf = assets.pdf("The Loopback Courier: annual report 2026",
                         ["A demo document for newsarchive.", "It is linked from one article."])
        statics = [
            (layout.STYLESHEET_PATH, "css", "text/css; charset=utf-8",
             assets.STYLESHEET.encode()),
            (layout.LOGO_PATH, "image", "image/png", assets.LOGO_PNG),
            (layout.PHOTO_PATH, "image", "image/png", assets.PHOTO_PNG),
            ("/ad.png", "image", "image/png", assets.AD_PNG),
            (PDF_PATH, "pdf", "application/pdf", pdf),
            (FIXTURE_PATH, "fixture", HTML, FIXTURE_HTML),
        ]
        for path, kind, ctype, data in statics:
            self._add(Route(path, kind, content_type=ctype, render=const(data)))
        self._add(Route(ABOUT_PATH, "page", content_type="text/html", transfer="gzip",
                        render=self._text(lambda: pages.simple(
                            "About us", "The Loopback Courier is a demo news site served on "
                            "your own machine so newsarchive can be tried without the internet."))))
        self._add(Route(PRIVATE_PATH, "page", disallowed=True, render=self._text(
            lambda: pages.simple("Staff only", "robots.txt asks crawlers not to fetch this page."))))
        # Links of the portal fixture's chrome, so a crawl of it meets no 404.
        for path, title in (("/terms", "Terms and Privacy Policy"),
                            ("/privacy-dashboard", "Privacy Dashboard")):
            page = functools.partial(pages.simple, title, "Nothing to see: this is a demo site.")
            self._add(Route(path, "page", render=self._text(page)))
        self._add(Route(BROKEN_PATH, "not_found", status=404,
                        render=self._text(lambda: pages.not_found(BROKEN_PATH))))

    # -- bodies ------------------------------------------------------------

    def route(self, path: str) -> Route | None:
        """The route of a request path (query and fragment ignored)."""
        return self.routes.get(urllib.parse.urlsplit(path).path)

    def body(self, route: Route) -> bytes:
        """The identity body of ``route`` (rendered once, then cached)."""
        data = self._bodies.get(route.path)
        if data is None:
            if route.render is not None:
                data = route.render()
            else:
                data = pages.moved(route.location or "/").encode()
            self._bodies[route.path] = data
        return data

    def gzipped(self, route: Route) -> bytes:
        """The gzip-encoded body (deterministic: mtime 0)."""
        data = self._gzipped.get(route.path)
        if data is None:
            data = gzip.compress(self.body(route), compresslevel=6, mtime=0)
            self._gzipped[route.path] = data
        return data

    def etag(self, route: Route) -> str:
        """Strong validator of the identity body."""
        return '"' + hashlib.sha1(self.body(route)).hexdigest()[:20] + '"'

    def last_modified(self, route: Route) -> str:
        """``Last-Modified`` of a route: an article's publication time (its page never
        changes), else the end of the site's day (fronts and lists change daily)."""
        article = self.by_path.get(route.path)
        when = article.published_at if article is not None else day_end(self.day)
        return email.utils.format_datetime(when.astimezone(dt.UTC), usegmt=True)

    def warm(self) -> int:
        """Render (and gzip) every body now, so the first crawl is not slower than the
        next; returns the number of routes. Benchmarks want this."""
        for route in self.routes.values():
            self.body(route)
            if route.transfer == "gzip":
                self.gzipped(route)
        return len(self.routes)

    def not_found_body(self, path: str) -> bytes:
        """Body of the 404 for an unknown ``path``."""
        return pages.not_found(path).encode()

    # -- truth -------------------------------------------------------------

    def pages(self) -> list[PageInfo]:
        """Every URL a complete crawl meets, robots-disallowed ones flagged."""
        return [
            PageInfo(self.ctx.url(r.path), r.path, r.status, r.content_type, r.transfer, r.kind,
                     r.disallowed, r.location)
            for r in self.routes.values()
            if r.listed
        ]

    def expected_sidecar(self, url: str) -> dict[str, object]:
        """The truth about the article at ``url``, shaped like ``yahoo.expected.json``."""
        path = urllib.parse.urlsplit(url).path
        if path == FIXTURE_PATH:
            return dict(FIXTURE_EXPECTED)
        article = self.by_path.get(path)
        if article is None:
            raise KeyError(f"no article at {url}")
        template = self.templates[article.template]
        return {
            "url": self.ctx.url(article.path),
            "title": article.title,
            "authors": list(article.authors),
            "publisher": article.publisher,
            "dateline": article.dateline,
            "published": article.published[:10],
            "paragraphs": list(article.paragraphs),
            "ads_count": article.ads_count,
            "related": [
                {"title": r.title, "url": self.ctx.url(r.path),
                 "summary": r.summary if template.related_summaries else ""}
                for r in self.ctx.related(article)
            ],
            "must_not_contain": template.must_not_contain(article, self.ctx),
        }
