"""The favicon Chromium fetches from its browser process is archived, and the
interception that catches it is switched off once it is (real Chromium, a real
server on loopback)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from newsarchive.fetch.exchange import Exchange
from newsarchive.fetch.render.browserside import PAGES_PER_ORIGIN, origin
from newsarchive.fetch.render.config import RenderConfig
from newsarchive.fetch.render.page import render
from newsarchive.fetch.render.pool import BrowserPool
from tests.plugins.render import Page, serve_pages

ICON = b"\x00\x00\x01\x00\x01\x00\x01\x01\x00\x00\x01\x00\x18\x00" + bytes(range(40))


def _page(path: str) -> Page:
    if path == "/favicon.ico":
        return ICON, "image/x-icon"
    if path.startswith(("/p/", "/q/")):
        icon = '<link rel="icon" href="data:,">' if path.startswith("/q/") else ""
        return f"<html><head>{icon}<title>t</title></head><body><p>{path}</p></body></html>".encode(), "text/html"
    return b"", "text/plain"


@pytest.fixture
def site() -> Iterator[tuple[str, list[str]]]:
    """Pages ``/p/N.html`` (``/q/N.html``: with an inline icon, so no favicon is fetched)."""
    with serve_pages(_page) as served:
        yield served


async def render_all(urls: list[str]) -> tuple[list[Exchange], list[bool], bool]:
    """Render ``urls`` one by one; the exchanges archived, and whether interception was on."""
    archived: list[Exchange] = []
    config = RenderConfig(mode="always", max_pages=1)
    pool = BrowserPool(config, sink=archived.append)
    states: list[bool] = []
    try:
        for url in urls:
            async with pool.tab(url) as lease:
                await render(lease.recorder, url, sink=archived.append, idle_ms=config.idle_ms,
                             timeout=config.timeout)
                assert pool._browser_side is not None
                states.append(pool._browser_side.intercepting)
        for _ in range(50):  # the favicon is fetched as the page loads; give it a moment
            side = pool._browser_side
            if side is not None and not side.tasks and not side.intercepting:
                break
            await asyncio.sleep(0.1)
        assert pool._browser_side is not None
        return archived, states, pool._browser_side.intercepting
    finally:
        await pool.close()


@pytest.mark.slow  # Chromium
def test_the_favicon_is_archived_then_interception_stops(site: tuple[str, list[str]]) -> None:
    base, log = site
    urls = [f"{base}/p/{n}.html" for n in range(8)]
    archived, states, last = asyncio.run(render_all(urls))
    icons = [e for e in archived if e.url == f"{base}/favicon.ico"]
    assert "/favicon.ico" in log  # the browser asked for it...
    assert icons and icons[0].status == 200 and icons[0].body == ICON  # ...and the archive has it
    # Switched off once it was archived: the later pages render without the interceptor.
    assert states[-1] is False and last is False
    assert all(e.url.startswith(base) for e in archived)
    assert {f"{base}{p}" for p in log} <= {e.url for e in archived}


@pytest.mark.slow  # Chromium
def test_an_origin_without_a_favicon_request_stops_interception_after_a_few_pages(
    site: tuple[str, list[str]],
) -> None:
    base, log = site
    urls = [f"{base}/q/{n}.html" for n in range(PAGES_PER_ORIGIN + 3)]
    archived, states, last = asyncio.run(render_all(urls))
    assert "/favicon.ico" not in log  # the page names an inline icon
    assert states[:PAGES_PER_ORIGIN - 1] == [True] * (PAGES_PER_ORIGIN - 1)
    assert states[PAGES_PER_ORIGIN:] == [False] * 3 and last is False
    assert len([e for e in archived if "/q/" in e.url]) == len(urls)


def test_origin_is_scheme_host_and_port() -> None:
    assert origin("HTTP://Example.COM:8080/a/b?c") == "http://example.com:8080"
    assert origin("https://example.com/") == "https://example.com"
