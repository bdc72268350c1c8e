"""Every network response of one rendered page, as :class:`Exchange` objects.

Watches a tab's ``request``/``response``/``requestfinished``/``requestfailed``
events while it renders one page. Each finished request becomes an
:class:`~newsarchive.fetch.exchange.Exchange` handed to ``sink`` (the WARC
writer service) as soon as its body is read, so bodies are not held for the
whole page.

Bodies are *decoded*. Chromium (through CDP, hence Playwright) only gives a
response body after content decoding; the bytes the server sent are gone.
Fetching each resource a second time raw would double the load on the site
and could differ from what the browser got. So a gzip/br body is stored
decoded, and its ``Content-Encoding`` and ``Content-Length`` headers are
removed together -- a decoded body is never labelled gzip -- and the record
says what was undone in ``WARC-Newsarchive-Content-Decoded`` (like
``WARC-Newsarchive-Transfer-Decoded`` for de-chunked bodies).

A redirect's body is not kept by Chromium at all: its record holds an empty
body, its ``Content-Length`` says 0 (a record's headers must describe its
body), and ``WARC-Newsarchive-Body-Omitted`` gives the length the server
announced.

Not archived: requests the browser never got an answer to (blocked by
``RENDER_BLOCK_HOSTS``, failed, still open when the page settled), and
``data:``/``blob:`` URLs. The browser's cache is off in every tab (see
:mod:`.pool`): an answer from the cache, or a ``304`` to the browser's own
revalidation, is not what the server sent for the page, and Playwright does
not say which responses came from the cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from newsarchive.fetch.exchange import Exchange

if TYPE_CHECKING:
    # The listeners get Playwright's implementation objects (see PageRecorder.attach).
    from playwright._impl.network import Request, Response, WebSocket
    from playwright.async_api import Page
    from playwright.async_api import Response as PublicResponse

logger = logging.getLogger(__name__)

DECODED_HEADER = "WARC-Newsarchive-Content-Decoded"
OMITTED_HEADER = "WARC-Newsarchive-Body-Omitted"
UNREAD = "body unavailable"  # page.failed reason of a response whose body could not be read
_DROPPED_WHEN_DECODED = (b"content-encoding", b"content-length")

Sink = Callable[[Exchange], Any]  # returns the writer's Ticket (or None when not archiving)


def stored_headers(
    headers: list[tuple[bytes, bytes]],
) -> tuple[list[tuple[bytes, bytes]], dict[str, str]]:
    """Response headers fit for a decoded body, and the WARC header saying what was decoded."""
    codings = [
        v.decode("latin-1").strip()
        for n, v in headers
        if n.lower() == b"content-encoding" and v.strip().lower() not in (b"", b"identity")
    ]
    if not codings:
        return headers, {}
    kept = [(n, v) for n, v in headers if n.lower() not in _DROPPED_WHEN_DECODED]
    return kept, {DECODED_HEADER: ", ".join(codings)}


def _pairs(array: Sequence[Mapping[str, Any]]) -> list[tuple[bytes, bytes]]:
    return [(h["name"].encode("latin-1", "replace"), h["value"].encode("latin-1", "replace")) for h in array]


def fit_length(
    headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[list[tuple[bytes, bytes]], dict[str, str]]:
    """Headers whose ``Content-Length`` (if any) is the stored body's length.

    A header that said more (a redirect's body Chromium dropped) is replaced,
    and the WARC header returned names what the server announced.
    """
    announced = [v for n, v in headers if n.lower() == b"content-length"]
    if not announced or all(v.strip() == str(len(body)).encode() for v in announced):
        return headers, {}
    kept = [(n, v) for n, v in headers if n.lower() != b"content-length"]
    kept.append((b"Content-Length", str(len(body)).encode()))
    return kept, {OMITTED_HEADER: announced[0].strip().decode("latin-1")}


class PageRecorder:
    """Records a tab's traffic, one page at a time.

    Listeners are attached once per tab (:meth:`attach`), not per page: each
    ``page.on``/``remove_listener`` of a network event is a round trip to
    Playwright's driver (``updateSubscription``), eight per page, which was
    most of the Python time of a render in ``benchmarks/render.py``. There is
    no ``response`` listener: the driver sends subscribed events only, and the
    finished request already carries its response. Between
    :meth:`begin` and :meth:`finish` events count for the current page;
    outside, they are ignored.
    """

    def __init__(self, page: Page) -> None:
        self.page = page
        self.sink: Sink | None = None
        self.active = False
        self._reset()

    def _reset(self) -> None:
        self.inflight: set[Request] = set()
        self.tickets: dict[Request, Any] = {}
        self.requested: list[str] = []
        self.failed: dict[str, str] = {}
        self.cached = 0
        self._started: dict[Request, datetime] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Future[None] | None = None
        self.last_activity = 0.0

    # -- events -------------------------------------------------------------------
    def attach(self) -> None:
        """Start listening: once per tab, for all its pages (the tab is closed, not detached).

        The listeners go on Playwright's implementation of the page, so they get
        its own ``Request``/``Response`` objects: the public wrapper runs
        ``inspect.signature`` on a listener for every event it delivers
        (``ImplToApiMapping.wrap_handler``, playwright 1.65), ~4% of a rendered
        crawl's Python time at four tabs (py-spy, ``benchmarks/README.md``), and
        its calls (``body()``...) each add a wrapper layer. The objects have the
        same properties and coroutines; :meth:`ticket_for` maps a public
        response (``page.goto``'s) to the key used here.
        """
        impl = _impl(self.page)
        impl.on("request", self._on_request)
        impl.on("requestfinished", self._on_finished)
        impl.on("requestfailed", self._on_failed)
        impl.on("websocket", self._on_websocket)  # for the egress policy's log

    def ticket_for(self, response: PublicResponse | None) -> Any:
        """The sink's result for ``response`` (a public one, as ``page.goto`` returns), if recorded."""
        if response is None:
            return None
        return self.tickets.get(_impl(response.request))

    def begin(self, sink: Sink | None) -> None:
        """Start recording a new page into ``sink``."""
        self._reset()
        self.sink = sink
        self.active = True
        self._touch()

    def _touch(self) -> None:
        self.last_activity = asyncio.get_running_loop().time()
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    def _on_request(self, request: Request) -> None:
        if not self.active:
            return
        self._touch()
        if request.url.startswith(("http:", "https:")):
            self.inflight.add(request)
            self._started[request] = datetime.now(UTC)
            self.requested.append(request.url)

    def _on_websocket(self, socket: WebSocket) -> None:
        if self.active:
            self.requested.append(socket.url)

    def _on_finished(self, request: Request) -> None:
        if not self.active or request not in self.inflight:
            return
        self._touch()
        self.inflight.discard(request)
        # The finished event names the response (Playwright has made it by
        # then): no "response" listener, one event less per request.
        response = request.existing_response
        if response is None:
            return
        # The body is read beside the page, not in its way: the page is
        # settled by network events alone, and finish() waits for the reads.
        task = asyncio.ensure_future(self._record(request, response))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_failed(self, request: Request) -> None:
        if not self.active or request not in self.inflight:
            return
        self._touch()
        self.inflight.discard(request)
        self.failed[request.url] = request.failure or "failed"

    # -- records ------------------------------------------------------------------
    async def _record(self, request: Request, response: Response) -> None:
        try:
            if response.from_service_worker:  # blocked per context; never the server's answer
                self.cached += 1
                return
            redirect = 300 <= response.status < 400
            body_call = _no_body() if redirect else response.body()
            body, resp_headers, req_headers = await asyncio.gather(
                body_call, response.headers_array(), request.headers_array()
            )
            headers, decoded = stored_headers(_pairs(resp_headers))
            headers, omitted = fit_length(headers, body)
            exchange = Exchange(
                url=request.url,
                method=request.method,
                request_headers=_pairs(req_headers),
                status=response.status,
                reason=response.status_text or None,
                response_headers=headers,
                body=body,
                fetched_at=self._started.pop(request, datetime.now(UTC)),
                request_body=request.post_data_buffer or b"",
                warc_headers={**decoded, **omitted},
            )
            if self.sink is not None:
                self.tickets[request] = self.sink(exchange)
            else:
                self.tickets[request] = exchange
        except Exception as exc:  # a tab closed or navigated away mid-read
            self.failed[request.url] = f"{UNREAD}: {exc}"
            logger.debug("no body for %s: %s", request.url, exc)

    async def settle(self, idle: float, max_wait: float) -> bool:
        """Wait until no request has been open for ``idle`` seconds; False if ``max_wait`` passed.

        Woken by the request events themselves (no polling): a page is
        settled exactly ``idle`` after its last request ended.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while True:
            now = loop.time()
            if now >= deadline:
                return False
            wait = deadline - now
            if not self.inflight:
                quiet_left = idle - (now - self.last_activity)
                if quiet_left <= 0:
                    return True
                wait = min(wait, quiet_left)
            self._wake = loop.create_future()
            try:
                await asyncio.wait_for(self._wake, wait)
            except TimeoutError:
                pass
            finally:
                self._wake = None

    def abort(self) -> None:
        """Give up on the bodies still being read; stop recording."""
        for task in list(self._tasks):
            task.cancel()
        self.active = False

    async def finish(self) -> None:
        """Wait for the bodies being read, then stop recording."""
        self.active = False  # requests after the DOM was taken are not this page's
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def _no_body() -> bytes:
    return b""


def _impl(obj: Any) -> Any:
    """Playwright's implementation object behind a public one (the object itself if it is one)."""
    return getattr(obj, "_impl_obj", obj)
