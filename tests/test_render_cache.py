"""The browser cache stays off in rendered tabs: every page fetches, and the
archive holds, its own copy of what it loads, even what the server says may be
cached for ten minutes (real Chromium, a real server on loopback)."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from newsarchive.fetch.exchange import Exchange
from newsarchive.fetch.render.config import RenderConfig
from newsarchive.fetch.render.page import render
from newsarchive.fetch.render.pool import BrowserPool

CSS = b"body { color: #123456 }"
SCRIPT = b"document.title = 'ran';"


@pytest.fixture
def site() -> Iterator[tuple[str, Counter[str]]]:
    """Pages ``/p/N.html`` sharing a stylesheet and a script, all cacheable for 600 s."""
    hits: Counter[str] = Counter()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            hits[self.path] += 1
            if self.path == "/site.css":
                body, ctype = CSS, "text/css"
            elif self.path == "/app.js":
                body, ctype = SCRIPT, "application/javascript"
            elif self.path.startswith("/p/"):
                body = (b'<html><head><link rel="icon" href="data:,"><link rel="stylesheet" href="/site.css">'
                        b'<script src="/app.js"></script></head><body><p>story</p></body></html>')
                ctype = "text/html"
            else:
                body, ctype = b"", "text/plain"
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "max-age=600")
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


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
def test_each_page_fetches_and_archives_its_own_cacheable_resources(site: tuple[str, Counter[str]]) -> None:
    base, hits = site
    pages = 3
    archived = asyncio.run(render_in_one_tab([f"{base}/p/{n}.html" for n in range(pages)]))
    # The server was asked each time: nothing came from the browser's cache...
    assert hits["/site.css"] == pages and hits["/app.js"] == pages
    # ...and each fetch is in the archive, as the server sent it.
    css = [e for e in archived if e.url == f"{base}/site.css"]
    assert len(css) == pages and all(e.status == 200 and e.body == CSS for e in css)
    assert [e.body for e in archived if e.url == f"{base}/app.js"] == [SCRIPT] * pages
