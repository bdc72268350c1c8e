"""Requests Chromium makes on its own behalf: the favicon.

Full (new) headless Chromium fetches ``/favicon.ico`` from the browser
process, so Playwright's page events never show it (microsoft/playwright
#7493) -- yet the site sees the request, and a replay asks for it. A
browser-level CDP session intercepts just those requests at the response
stage (``Fetch.enable`` with a URL pattern: nothing else is paused, the cache
stays on) and hands each to the same sink as the page's own responses.

Interception is on only while it is needed. With ``Fetch`` enabled, *every*
request of every tab passes through DevTools' interceptor in the browser
process, pattern or not: ``benchmarks/render.py`` measured ~30 ms more CPU per
page (browser, network service, renderer and driver) and 9% of the rate at
four tabs. So it is switched on when a page of an origin whose favicon is not
archived yet is about to render, and off again once every such origin has its
favicon in the archive, or has rendered :data:`PAGES_PER_ORIGIN` pages without
one (a favicon named otherwise, or none: the browser asks for it as a page
loads, so a few pages are enough to catch it). The favicon's URL is then in
the archive; later fetches of it are the same file again.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from newsarchive.fetch.exchange import Exchange
from newsarchive.fetch.render.recorder import Sink, stored_headers

if TYPE_CHECKING:
    from playwright.async_api import Browser, CDPSession

logger = logging.getLogger(__name__)

PATTERNS = [{"urlPattern": "*favicon*", "requestStage": "Response"}]
PAGES_PER_ORIGIN = 3  # pages rendered with interception on before an origin's favicon is given up


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (lower case), the unit a favicon belongs to."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class BrowserSideCapture:
    """Archives the favicon requests of one browser, intercepting only while one is missing."""

    def __init__(self, sink: Sink, pages_per_origin: int = PAGES_PER_ORIGIN) -> None:
        self.sink = sink
        self.pages_per_origin = pages_per_origin
        self.session: CDPSession | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.count = 0
        self.watching: dict[str, int] = {}  # origin -> pages left to wait for its favicon
        self.intercepting = False
        self._switching = asyncio.Lock()

    async def attach(self, browser: Browser) -> None:
        """Open the browser-level session (interception starts with the first page)."""
        self.session = await browser.new_browser_cdp_session()
        self.session.on("Fetch.requestPaused", self._on_paused)

    # -- when to intercept --------------------------------------------------------
    async def page_starting(self, url: str) -> None:
        """Before ``url`` renders: intercept if its origin's favicon is still missing."""
        left = self.watching.setdefault(origin(url), self.pages_per_origin)
        if left > 0:
            await self._switch()

    async def page_done(self, url: str) -> None:
        """After ``url`` rendered: one page less to wait for its origin's favicon."""
        key = origin(url)
        if self.watching.get(key, 0) > 0:
            self.watching[key] -= 1
        await self._switch()

    def _wanted(self) -> bool:
        return bool(self.tasks) or any(left > 0 for left in self.watching.values())

    async def _switch(self) -> None:
        """Turn interception on or off to match :meth:`_wanted` (never mid-capture)."""
        if self.session is None or self.intercepting == self._wanted():
            return
        async with self._switching:
            want = self._wanted()
            if self.intercepting == want:
                return
            try:
                if want:
                    await self.session.send("Fetch.enable", {"patterns": PATTERNS})
                else:
                    await self.session.send("Fetch.disable")
                self.intercepting = want
            except Exception as exc:  # the browser is closing
                logger.debug("cannot switch favicon interception: %s", exc)

    # -- capture ------------------------------------------------------------------
    def _on_paused(self, event: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._record(event))
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not self.tasks and not task.cancelled():
            asyncio.ensure_future(self._switch())  # off, if that was the last favicon missing

    async def _record(self, event: dict[str, Any]) -> None:
        assert self.session is not None
        request_id = event["requestId"]
        try:
            status = event.get("responseStatusCode")
            if status is not None:
                body = b""
                if not 300 <= status < 400:
                    got = await self.session.send("Fetch.getResponseBody", {"requestId": request_id})
                    raw = got.get("body", "")
                    body = base64.b64decode(raw) if got.get("base64Encoded") else raw.encode("utf-8")
                request = event["request"]
                headers, decoded = stored_headers(
                    [(h["name"].encode("latin-1"), h["value"].encode("latin-1"))
                     for h in event.get("responseHeaders") or ()]
                )
                self.sink(
                    Exchange(
                        url=request["url"],
                        method=request.get("method", "GET"),
                        request_headers=[
                            (k.encode("latin-1"), str(v).encode("latin-1"))
                            for k, v in (request.get("headers") or {}).items()
                        ],
                        status=status,
                        reason=event.get("responseStatusText") or None,
                        response_headers=headers,
                        body=body,
                        fetched_at=datetime.now(UTC),
                        warc_headers=decoded,
                    )
                )
                self.count += 1
                if not 300 <= status < 400:  # a redirect's target is still to come
                    self.watching[origin(request["url"])] = 0
        except Exception as exc:  # the browser is closing; the request is not ours to keep
            logger.debug("favicon capture failed: %s", exc)
        finally:
            try:
                await self.session.send("Fetch.continueRequest", {"requestId": request_id})
            except Exception as exc:
                logger.debug("cannot continue %s: %s", request_id, exc)
