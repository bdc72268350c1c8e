"""One Chromium, a few contexts, a few reused tabs: bounded for long crawls.

Why not a page per request, as scrapy-playwright 0.0.48 does: opening a tab
starts a renderer process, and its handler also routes every sub-request
through Python (``page.route("**")``), which turns off the browser cache: far
slower than bare Playwright with reused tabs (``benchmarks/README.md``);
``benchmarks/render.py`` measures ours beside bare Playwright. Reused tabs have
a cost too -- a tab's renderer grows with every page it renders -- so every
bound is a setting:

- ``RENDER_MAX_PAGES`` tabs render at once (a semaphore), spread over
  ``RENDER_MAX_CONTEXTS`` browser contexts;
- a tab is closed after ``RENDER_TAB_PAGES`` pages, a context (cookies, cache,
  storage, its tabs) is replaced after ``RENDER_CONTEXT_PAGES``, and the whole
  browser is relaunched after ``RENDER_BROWSER_PAGES``, once its tabs are idle;
- the caller bounds each page with ``RENDER_TIMEOUT``; a tab that timed out or
  crashed is closed, never reused;
- memory: V8's heap is capped per renderer (``RENDER_JS_HEAP_MB``: a script
  that allocates without end crashes its tab, not the machine), and a
  watchdog kills any renderer process whose RSS passes
  ``RENDER_TAB_MEMORY_MB`` (DOM, images and layout live outside V8's heap;
  memory is looked at every 0.5 s, new renderers are looked for every 2 s).
  The page it was rendering fails with that reason; the crawl goes on.

:meth:`BrowserPool.close` closes the browser and then kills any Chromium
process still below this one, so nothing outlives the crawl.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from newsarchive.fetch.render import procs
from newsarchive.fetch.render.browserside import BrowserSideCapture
from newsarchive.fetch.render.config import RenderConfig
from newsarchive.fetch.render.recorder import PageRecorder, Sink

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page, Playwright

logger = logging.getLogger(__name__)

WATCH_INTERVAL = 0.5  # seconds between two looks at the renderers' memory
# Buffer nothing for the tab's blocking CDP session (see BrowserPool._new_tab).
NETWORK_ENABLE = {"maxTotalBufferSize": 0, "maxResourceBufferSize": 0, "maxPostDataSize": 0}
TREE_EVERY = 4  # looks between two searches for new renderers (a search reads all of /proc)


@dataclass(eq=False)
class _Tab:
    page: Page
    recorder: PageRecorder  # attached once: listeners cost a driver round trip each
    uses: int = 0


@dataclass(eq=False)
class _Slot:
    """One browser context and its idle tabs."""

    context: BrowserContext | None = None
    idle: list[_Tab] = field(default_factory=list)
    active: int = 0
    pages: int = 0
    retiring: bool = False
    #: URL -> the payload digest of its latest capture in this context (whose HTTP
    #: cache the tabs share), and the records being made (see recorder.CacheRule)
    archived: dict[str, str] = field(default_factory=dict)
    pending: dict[str, asyncio.Future[None]] = field(default_factory=dict)


@dataclass
class Lease:
    """A tab lent for one page; set ``healthy = False`` if it must not be reused."""

    page: Page
    recorder: PageRecorder
    healthy: bool = True


class BrowserPool:
    """Lends tabs of one lazily launched Chromium (see the module docstring)."""

    def __init__(self, config: RenderConfig, stats: Any = None, sink: Sink | None = None) -> None:
        self.config = config
        self.stats = stats
        self.sink = sink  # for what the browser fetches on its own (the favicon)
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._slots = [_Slot() for _ in range(config.max_contexts)]
        self._sem = asyncio.Semaphore(config.max_pages)
        self._cond = asyncio.Condition()
        self._active = 0
        self._browser_pages = 0
        self._browser_retiring = False
        self._closed = False
        self._driver_pids: list[int] = []
        self._browser_side: BrowserSideCapture | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self.pages_rendered = 0
        self.memory_kills = 0  # renderers killed over RENDER_TAB_MEMORY_MB

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"render/{key}")

    # -- lending ------------------------------------------------------------------
    @asynccontextmanager
    async def tab(self, url: str | None = None) -> AsyncIterator[Lease]:
        """A tab for one page (``url``, if known); returned (or closed) when the block ends."""
        await self._sem.acquire()
        try:
            slot, tab = await self._acquire()
            lease = Lease(tab.page, tab.recorder)
            browser_side = self._browser_side
            try:
                if browser_side is not None and url:
                    await browser_side.page_starting(url)
                yield lease
            except BaseException:
                lease.healthy = False
                raise
            finally:
                if browser_side is not None and url:
                    await browser_side.page_done(url)
                await self._release(slot, tab, lease.healthy)
        finally:
            self._sem.release()

    async def _acquire(self) -> tuple[_Slot, _Tab]:
        async with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("the browser pool is closed")
                if self._browser_retiring and self._active == 0:
                    await self._close_browser()
                    self._inc("browser_restarts")
                if self._browser is None:
                    await self._launch()
                if not self._browser_retiring:
                    for slot in self._slots:
                        if slot.retiring and slot.active == 0:
                            await self._close_context(slot)
                            self._inc("context_restarts")
                    ready = [s for s in self._slots if not s.retiring]
                    if ready:
                        slot = min(ready, key=lambda s: s.active)
                        break
                await self._cond.wait()
            slot.active += 1
            self._active += 1
            try:
                if slot.context is None:
                    slot.context = await self._new_context()
                tab = slot.idle.pop() if slot.idle else await self._new_tab(slot)
            except BaseException:
                slot.active -= 1
                self._active -= 1
                self._cond.notify_all()
                raise
        return slot, tab

    async def _release(self, slot: _Slot, tab: _Tab, healthy: bool) -> None:
        tab.uses += 1
        slot.pages += 1
        self._browser_pages += 1
        self.pages_rendered += 1
        keep = healthy and tab.uses < self.config.tab_pages and not tab.page.is_closed()
        if keep:
            slot.idle.append(tab)
        else:
            await _quietly(tab.page.close())
        if self.config.context_pages and slot.pages >= self.config.context_pages:
            slot.retiring = True
        if self.config.browser_pages and self._browser_pages >= self.config.browser_pages:
            self._browser_retiring = True
        async with self._cond:
            slot.active -= 1
            self._active -= 1
            self._cond.notify_all()

    # -- browser, contexts, tabs ------------------------------------------------
    async def _launch(self) -> None:
        from playwright.async_api import async_playwright

        self.config.check_browser()
        if self._playwright is None:
            before = set(procs.descendants(os.getpid()))
            self._playwright = await async_playwright().start()
            # Playwright's driver is our new child; Chromium will run below it.
            self._driver_pids = [p for p in procs.descendants(os.getpid()) if p not in before]
        logger.info("launching %s", self.config.executable)
        self._browser = await self._playwright.chromium.launch(
            executable_path=self.config.executable,
            headless=True,
            args=self.config.launch_args(),
            # Scrapy owns Ctrl-C: it finishes the pages in flight, then close() ends the browser.
            handle_sigint=False,
            handle_sigterm=False,
            handle_sighup=False,
        )
        self._browser_pages = 0
        self._browser_retiring = False
        self._inc("browser_launches")
        if self.config.tab_memory_mb and self._watchdog is None:
            self._watchdog = asyncio.ensure_future(self._watch_memory())
        if self.sink is not None:
            self._browser_side = BrowserSideCapture(self.sink)
            await self._browser_side.attach(self._browser)

    async def _watch_memory(self) -> None:
        """Kill renderers over ``RENDER_TAB_MEMORY_MB`` (their tabs crash; see the module docstring)."""
        limit = self.config.tab_memory_mb * 1024 * 1024
        known: dict[int, int | None] = {}  # renderer pid -> its start time
        tick = 0
        while not self._closed:
            await asyncio.sleep(WATCH_INTERVAL)
            if not self._active:
                continue
            # Finding the renderers means reading every process of the machine
            # (their parents): done every TREE_EVERY looks, their memory at each.
            if tick % TREE_EVERY == 0:
                tree = [q for p in self._driver_pids for q in procs.descendants(p)]
                known = procs.renderers(tree)
            tick += 1
            for pid, started in list(known.items()):
                rss = procs.rss_bytes(pid)
                if rss <= limit or procs.start_time(pid) != started:  # small, or gone (pid reused)
                    continue
                logger.warning("killing a Chromium renderer using %d MB (RENDER_TAB_MEMORY_MB is %d)",
                               rss >> 20, self.config.tab_memory_mb)
                known.pop(pid)
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    continue
                self.memory_kills += 1
                self._inc("killed_over_memory")

    async def _new_context(self) -> BrowserContext:
        assert self._browser is not None
        width, height = self.config.viewport
        context = await self._browser.new_context(
            viewport={"width": width, "height": height},
            # A service worker would answer requests where our page events cannot see them.
            service_workers="block",
        )
        context.set_default_timeout(self.config.timeout * 1000)
        self._inc("contexts")
        return context

    async def _new_tab(self, slot: _Slot) -> _Tab:
        assert slot.context is not None
        page = await slot.context.new_page()
        # The HTTP cache stays on (a page does not fetch again what the one
        # before it fetched); the recorder archives only what came off the
        # network, knowing what this context archived (recorder.CacheRule).
        if self.config.block_hosts:
            # Blocking inside Chromium (CDP) rather than page.route(): Playwright's
            # routing sends every request through Python. The session's Network
            # domain must be on; it buffers no bodies (NETWORK_ENABLE).
            session = await slot.context.new_cdp_session(page)
            await session.send("Network.enable", NETWORK_ENABLE)
            await session.send("Network.setBlockedURLs", {"urls": block_patterns(self.config)})
        recorder = PageRecorder(page, slot.archived, slot.pending)
        recorder.attach()
        self._inc("tabs")
        return _Tab(page, recorder)

    async def _close_context(self, slot: _Slot) -> None:
        context, slot.context = slot.context, None
        slot.idle.clear()
        slot.archived, slot.pending = {}, {}  # the next context starts with an empty cache
        slot.pages = 0
        slot.retiring = False
        if context is not None:
            await _quietly(context.close())

    async def _close_browser(self) -> None:
        for slot in self._slots:
            await self._close_context(slot)
        browser, self._browser = self._browser, None
        self._browser_side = None
        if browser is not None:
            await _quietly(browser.close())

    async def close(self) -> None:
        """Close tabs, contexts, the browser and Playwright's driver; kill what is left."""
        self._closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        # Seen before closing: once the driver exits, its orphans are no longer below us.
        tree = [q for p in self._driver_pids for q in (p, *procs.descendants(p))]
        try:
            await self._close_browser()
            if self._playwright is not None:
                await _quietly(self._playwright.stop())
                self._playwright = None
        finally:
            procs.kill_browsers(tree)


def block_patterns(config: RenderConfig) -> list[str]:
    """``RENDER_BLOCK_HOSTS`` as Chromium URL patterns: the host and its subdomains, any port."""
    out: list[str] = []
    for host in config.block_hosts:
        host = host.lower().lstrip(".")
        subs = [host] if host.startswith("*") else [host, f"*.{host}"]
        for h in subs:
            out += [f"*://{h}/*", f"*://{h}:*"]
    return out


async def _quietly(coro: Any) -> None:
    try:
        await coro
    except Exception as exc:  # already closed, browser gone: nothing left to free
        logger.debug("while closing: %s", exc)
