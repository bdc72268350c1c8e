"""Requests Chromium makes on its own behalf: the favicon.

Full (new) headless Chromium fetches ``/favicon.ico`` from the browser
process, so Playwright's page events never show it (microsoft/playwright
#7493) -- yet the site sees the request, and a replay asks for it. A
browser-level CDP session intercepts just those requests at the response
stage (``Fetch.enable`` with a URL pattern: nothing else is paused, the cache
stays on) and hands each to the same sink as the page's own responses.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from newsarchive.capture.exchange import Exchange
from newsarchive.fetch.render.recorder import Sink, stored_headers

if TYPE_CHECKING:
    from playwright.async_api import Browser, CDPSession

logger = logging.getLogger(__name__)

PATTERNS = [{"urlPattern": "*favicon*", "requestStage": "Response"}]


class BrowserSideCapture:
    """Archives the favicon requests of one browser."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.session: CDPSession | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.count = 0

    async def attach(self, browser: Browser) -> None:
        """Start intercepting on ``browser``."""
        self.session = await browser.new_browser_cdp_session()
        self.session.on("Fetch.requestPaused", self._on_paused)
        await self.session.send("Fetch.enable", {"patterns": PATTERNS})

    def _on_paused(self, event: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._record(event))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

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
        except Exception as exc:  # the browser is closing; the request is not ours to keep
            logger.debug("favicon capture failed: %s", exc)
        finally:
            try:
                await self.session.send("Fetch.continueRequest", {"requestId": request_id})
            except Exception as exc:
                logger.debug("cannot continue %s: %s", request_id, exc)
