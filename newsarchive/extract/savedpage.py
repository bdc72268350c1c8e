"""Rendering a page saved to disk as if it were served from its URL.

``newsarchive extract --render --url URL FILE.html`` uses it for pages saved
from a browser: the file is served at ``URL`` by intercepting that one
request, so relative links, ``location`` and same-origin XHR behave as they
did on the site. Other requests go to the network as usual (and fail offline,
which a saved page must survive).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

from newsarchive.exceptions import ConfigError, ExtractionError
from newsarchive.extract.decode import decode_body
from newsarchive.fetch.render.config import RenderConfig

logger = logging.getLogger(__name__)

DEFAULT_URL = "http://localhost/saved.html"


def render_html_file(path: str | Path, url: str | None = None, config: RenderConfig | None = None) -> str:
    """The DOM of ``path`` once Chromium has run its scripts, loaded as ``url``."""
    path = Path(path)
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    url = url or DEFAULT_URL
    config = config or RenderConfig(mode="always", max_pages=1)
    # Served as UTF-8 with its charset named: a saved page often declares none, and
    # Chromium would read it as windows-1252.
    try:
        return asyncio.run(_render(decode_body(body).encode("utf-8"), url, config))
    except ExtractionError as exc:
        raise ExtractionError(f"{path}: {exc}") from None
    except TimeoutError:
        raise ExtractionError(f"{path}: cannot render as {url}: not loaded within "
                              f"{config.timeout:g} s") from None
    except Exception as exc:  # playwright.Error and kin: a browser-side failure
        logger.debug("rendering %s as %s failed", path, url, exc_info=True)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExtractionError(f"{path}: cannot render as {url}: {reason}") from None


def _same_page(a: str, b: str) -> bool:
    """Two spellings of one address ("https://x.org" and "https://x.org/#top")."""
    sa, sb = urlsplit(urldefrag(a)[0]), urlsplit(urldefrag(b)[0])
    return (sa.scheme.lower(), sa.netloc.lower(), sa.path or "/", sa.query) == (
        sb.scheme.lower(), sb.netloc.lower(), sb.path or "/", sb.query)


async def _render(body: bytes, url: str, config: RenderConfig) -> str:
    from playwright.async_api import Route

    from newsarchive.fetch.render.page import render
    from newsarchive.fetch.render.pool import BrowserPool

    async def serve(route: Route) -> None:
        await route.fulfill(status=200, body=body,
                            headers={"Content-Type": "text/html; charset=utf-8"})

    pool = BrowserPool(config)
    try:
        async with pool.tab() as lease:
            # A predicate, not the URL itself: Playwright reads a string as a glob,
            # in which "?" and "*" of a query string would not match the URL.
            await lease.page.route(lambda u: _same_page(u, url), serve)
            page = await asyncio.wait_for(
                render(lease.recorder, url, sink=None, idle_ms=config.idle_ms, timeout=config.timeout),
                config.timeout,
            )
            if page.url.startswith("chrome-error:"):  # its script sent the tab elsewhere
                raise ExtractionError(f"cannot render as {url}: the page navigated to an "
                                      "address that did not load")
            return page.dom
    finally:
        await pool.close()
