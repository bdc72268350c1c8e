"""The browser cache stays off in rendered tabs: every page fetches, and the
archive holds, its own copy of what it loads, even what the server says may be
cached for ten minutes (real Chromium, a real server on loopback)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from newsarchive.fetch.exchange import Exchange
from newsarchive.fetch.render.config import RenderConfig
from newsarchive.fetch.render.page import render
from newsarchive.fetch.render.pool import BrowserPool
from tests.plugins.render import Page, serve_pages

CSS = b"body { color: #123456 }"
SCRIPT = b"document.title = 'ran';"


def _page(path: str) -> Page:
    if path == "/site.css":
        return CSS, "text/css"
    if path == "/app.js":
        return SCRIPT, "application/javascript"
    if path.startswith("/p/"):
        return (b'<html><head><link rel="icon" href="data:,"><link rel="stylesheet" href="/site.css">'
                b'<script src="/app.js"></script></head><body><p>story</p></body></html>'), "text/html"
    return b"", "text/plain"


@pytest.fixture
def site() -> Iterator[tuple[str, list[str]]]:
    """Pages ``/p/N.html`` sharing a stylesheet and a script, all cacheable for 600 s."""
    with serve_pages(_page, {"Cache-Control": "max-age=600"}) as served:
        yield served


async def render_in_one_tab(urls: list[str]) -> list[Exchange]:
    archived: list[Exchange] = []

    def sink(exchange: Exchange) -> Exchange:  # what the sink returns is the page's document
        archived.append(exchange)
        return exchange

    config = RenderConfig(mode="always", max_pages=1)
    pool = BrowserPool(config)
    try:
        for url in urls:
            async with pool.tab() as lease:
                page = await render(lease.recorder, url, sink=sink, idle_ms=config.idle_ms,
                                    timeout=config.timeout)
                assert page.document is not None and page.document.url == url  # the document's own record
    finally:
        await pool.close()
    return archived


@pytest.mark.slow  # Chromium
def test_each_page_fetches_and_archives_its_own_cacheable_resources(site: tuple[str, list[str]]) -> None:
    base, log = site
    pages = 3
    archived = asyncio.run(render_in_one_tab([f"{base}/p/{n}.html" for n in range(pages)]))
    # The server was asked each time: nothing came from the browser's cache...
    assert log.count("/site.css") == pages and log.count("/app.js") == pages
    # ...and each fetch is in the archive, as the server sent it.
    css = [e for e in archived if e.url == f"{base}/site.css"]
    assert len(css) == pages and all(e.status == 200 and e.body == CSS for e in css)
    assert [e.body for e in archived if e.url == f"{base}/app.js"] == [SCRIPT] * pages
