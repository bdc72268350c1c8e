"""Rendering a page saved to disk as if it were served from its URL.

``newsarchive extract --render --url URL FILE.html`` uses it for pages saved
from a browser: the file is served at ``URL`` by intercepting that one
request, so relative links, ``location`` and same-origin XHR behave as they
did on the site. Other requests go to the network as usual (and fail offline,
which a saved page must survive).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from newsarchive.exceptions import ConfigError
from newsarchive.fetch.render.config import RenderConfig

DEFAULT_URL = "http://localhost/saved.html"


def render_html_file(path: str | Path, url: str | None = None, config: RenderConfig | None = None) -> str:
    """The DOM of ``path`` once Chromium has run its scripts, loaded as ``url``."""
    path = Path(path)
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return asyncio.run(_render(body, url or DEFAULT_URL, config or RenderConfig(mode="always", max_pages=1)))


async def _render(body: bytes, url: str, config: RenderConfig) -> str:
    from playwright.async_api import Route

    from newsarchive.fetch.render.page import render
    from newsarchive.fetch.render.pool import BrowserPool

    async def serve(route: Route) -> None:
        await route.fulfill(status=200, body=body, headers={"Content-Type": "text/html"})

    pool = BrowserPool(config)
    try:
        async with pool.tab() as lease:
            await lease.page.route(url, serve)
            page = await asyncio.wait_for(
                render(lease.recorder, url, sink=None, idle_ms=config.idle_ms, timeout=config.timeout),
                config.timeout,
            )
            return page.dom
    finally:
        await pool.close()
