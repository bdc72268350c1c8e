"""Chromium's memory bounds: a tab past RENDER_TAB_MEMORY_MB is killed and its page
fails with that reason; a script past RENDER_JS_HEAP_MB crashes its own tab only;
the browser renders the next page (real Chromium, the hostile server's pages)."""

from __future__ import annotations

import asyncio

import pytest

from newsarchive.fetch.render.config import RenderConfig
from newsarchive.fetch.render.page import render
from newsarchive.fetch.render.pool import BrowserPool
from tests.plugins.hostile import HostileSite, case_url

pytestmark = pytest.mark.slow


async def _render_all(config: RenderConfig, urls: list[str]) -> tuple[list[str], int]:
    pool = BrowserPool(config)
    outcomes: list[str] = []
    try:
        for url in urls:
            try:
                async with pool.tab(url) as lease:
                    page = await asyncio.wait_for(
                        render(lease.recorder, url, sink=None, idle_ms=config.idle_ms, timeout=config.timeout),
                        config.timeout,
                    )
                    outcomes.append("ok" if "<h1>" in page.dom else "no story")
            except Exception as exc:
                outcomes.append(f"failed: {type(exc).__name__}: {str(exc)[:80]}")
        return outcomes, pool.memory_kills
    finally:
        await pool.close()


def test_a_tab_over_its_memory_budget_is_killed_and_the_next_page_renders(hostile_site: HostileSite) -> None:
    config = RenderConfig(mode="always", max_pages=1, timeout=60, js_heap_mb=0, tab_memory_mb=300)
    outcomes, kills = asyncio.run(_render_all(
        config, [case_url(hostile_site, "/buffers.html"), case_url(hostile_site, "/gzip2.html")]))
    assert kills >= 1
    assert outcomes[0].startswith("failed") and "crash" in outcomes[0].lower()
    assert outcomes[1] == "ok"


def test_a_script_past_the_heap_limit_crashes_only_its_tab(hostile_site: HostileSite) -> None:
    config = RenderConfig(mode="always", max_pages=1, timeout=60, js_heap_mb=128, tab_memory_mb=0)
    outcomes, kills = asyncio.run(_render_all(
        config, [case_url(hostile_site, "/oom.html"), case_url(hostile_site, "/gzip2.html")]))
    assert kills == 0
    assert outcomes[0].startswith("failed") and "crash" in outcomes[0].lower(), outcomes
    assert outcomes[1] == "ok"
