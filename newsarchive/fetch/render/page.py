"""Rendering one page in a tab: navigate, let its scripts settle, read the DOM.

"Settled" means the ``load`` event fired and then no request was open for
``RENDER_IDLE_MS``: a client-rendered story usually arrives by an XHR started
while the page loads, after ``load`` in the worst case. Playwright's own
``networkidle`` waits a fixed 500 ms, which would cap a tab at two pages a
second. The wait is woken by the tab's request events (no polling), and the
bodies are read beside it, so the quiet window starts when the network is
quiet, not when Python has caught up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from newsarchive.fetch.render.recorder import PageRecorder, Sink

logger = logging.getLogger(__name__)

SETTLE_SHARE = 0.5  # at most this share of RENDER_TIMEOUT is spent waiting for quiet


@dataclass
class RenderedPage:
    """What a render produced."""

    url: str  # final URL, after redirects
    status: int
    headers: list[tuple[bytes, bytes]]  # the document's response headers (as stored)
    dom: str
    document: Any = None  # the sink's result for the document (a Ticket when archiving)
    screenshot: bytes | None = None
    requested: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    settled: bool = True
    cached: int = 0  # answers from the browser's cache whose capture the archive already holds
    loaded: frozenset[str] = frozenset()  # URLs of what the page loaded that the archive holds


async def render(
    recorder: PageRecorder,
    url: str,
    *,
    sink: Sink | None,
    idle_ms: int,
    timeout: float,
    screenshot: bool = False,
) -> RenderedPage:
    """Render ``url`` in the recorder's tab; every response goes to ``sink`` as it completes.

    ``recorder`` is the tab's own, attached once for all its pages (see
    :class:`PageRecorder`). The caller bounds the whole call with ``timeout``
    (``asyncio.wait_for``); ``timeout`` here only limits the wait for quiet.
    """
    page = recorder.page
    recorder.begin(sink)
    try:
        response = await page.goto(url, wait_until="load")
        settled = await recorder.settle(idle_ms / 1000, timeout * SETTLE_SHARE)
        if not settled:
            logger.info("%s did not settle; archiving what it loaded", url)
        dom = await page.content()
        shot = await page.screenshot(full_page=True, type="png") if screenshot else None
    except BaseException:
        recorder.abort()  # timed out or failed: the tab is closed, not reused
        raise
    await recorder.finish()
    document = recorder.ticket_for(response)
    doc_headers: list[tuple[bytes, bytes]] = []
    if document is not None and hasattr(document, "response_headers"):
        doc_headers = document.response_headers  # an Exchange (no sink)
    elif response is not None:
        doc_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    return RenderedPage(
        url=page.url,
        status=response.status if response is not None else 200,
        headers=doc_headers,
        dom=dom,
        document=document,
        screenshot=shot,
        requested=recorder.requested,
        failed=recorder.failed,
        settled=settled,
        cached=recorder.cached,
        loaded=frozenset(recorder.loaded),
    )
