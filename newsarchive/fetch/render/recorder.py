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
``data:``/``blob:`` URLs.

The browser's HTTP cache is on, as in any browser: a page does not fetch
again the stylesheet and scripts the page before it fetched, which is most
of what a rendered page waits for. The archive still holds only what came
off the network (:class:`CacheRule`):

- an answer the browser took from its cache sent no request -- its raw
  request headers, which Chromium reports only for what the network stack
  sent, have no ``Host`` (``:authority`` in HTTP/2 and 3). It is not
  archived when this context already archived the URL (the capture it came
  from is in the archive); otherwise (a copy the cache got while no page was
  being recorded) it is archived from the cache and says so in
  ``WARC-Newsarchive-Browser-Cache: hit``;
- a ``304`` to the browser's revalidation is archived as what it is: a
  server-not-modified ``revisit`` of this context's capture of the URL;
- a revalidation the network stack answered from its cache shows as a
  ``200`` to a conditional request (Playwright drops the ``304`` status the
  wire had). Its body is compared with this context's capture of the URL:
  the same payload is not archived again; a new one is a new response; with
  no capture to compare, it is archived from the cache, with the headers the
  browser used, as ``WARC-Newsarchive-Browser-Cache: revalidated``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from newsarchive.digests import sha1_digest
from newsarchive.fetch.exchange import Exchange

if TYPE_CHECKING:
    # The listeners get Playwright's implementation objects (see PageRecorder.attach).
    from playwright._impl.network import Request, Response, WebSocket
    from playwright.async_api import Page
    from playwright.async_api import Response as PublicResponse

logger = logging.getLogger(__name__)

DECODED_HEADER = "WARC-Newsarchive-Content-Decoded"
FROM_CACHE_HEADER = "WARC-Newsarchive-Browser-Cache"  # "hit" or "revalidated": see the module docstring
OMITTED_HEADER = "WARC-Newsarchive-Body-Omitted"
UNREAD = "body unavailable"  # page.failed reason of a response whose body could not be read
_DROPPED_WHEN_DECODED = (b"content-encoding", b"content-length")
_SENT_ONLY = (b"host", b":authority")  # request headers only the network stack adds
_CONDITIONAL = (b"if-none-match", b"if-modified-since")
REMEMBERED = 4096  # URLs whose capture a context remembers for its cache hits (a Ticket each)

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

    def __init__(self, page: Page, archived: dict[str, Any] | None = None) -> None:
        self.page = page
        #: URL -> the sink's result for its latest capture in this tab's browser
        #: context, whose HTTP cache the tab shares (see CacheRule), least recently used first
        self.archived: dict[str, Any] = {} if archived is None else archived
        self.sink: Sink | None = None
        self.active = False
        self._reset()

    def _reset(self) -> None:
        self.inflight: set[Request] = set()
        self.tickets: dict[Request, Any] = {}
        self.requested: list[str] = []
        self.failed: dict[str, str] = {}
        self.cached = 0  # answers from the browser's cache not archived again
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
            resp_headers, req_headers = await asyncio.gather(
                response.headers_array(), request.headers_array()
            )
            sent = _pairs(req_headers)
            url, status = request.url, response.status
            rule = CacheRule(sent, status, self.archived.get(url))
            body = b"" if rule.bodiless else await response.body()
            if rule.keeps_earlier(body):
                self.cached += 1
                self.tickets[request] = remember(self.archived, url, rule.earlier)  # for a document's DOM
                return
            warc_headers: dict[str, str] = {}
            if rule.from_cache:
                # What the browser used, not what the wire carried (unseen):
                # the headers from the cache, and the record says so.
                resp_pairs = [(k.encode("latin-1", "replace"), v.encode("latin-1", "replace"))
                              for k, v in response.headers.items()]
                warc_headers[FROM_CACHE_HEADER] = rule.from_cache
            else:
                resp_pairs = _pairs(resp_headers)
            headers, decoded = stored_headers(resp_pairs)
            headers, omitted = fit_length(headers, body)
            exchange = Exchange(
                url=url,
                method=request.method,
                request_headers=sent,
                status=status,
                reason=response.status_text or None,
                response_headers=headers,
                body=body,
                fetched_at=self._started.pop(request, datetime.now(UTC)),
                request_body=request.post_data_buffer or b"",
                warc_headers={**warc_headers, **decoded, **omitted},
                not_modified_digest=rule.earlier_digest if status == 304 else None,
            )
            ticket = self.sink(exchange) if self.sink is not None else exchange
            self.tickets[request] = ticket
            if request.method == "GET" and status != 304:  # what the cache now holds
                remember(self.archived, url, ticket)
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


def remember(archived: dict[str, Any], url: str, ticket: Any) -> Any:
    """Note ``ticket`` as the latest capture of ``url``; the least recently used go past
    :data:`REMEMBERED` URLs (a hit on one of those is archived again, from the cache)."""
    archived.pop(url, None)
    archived[url] = ticket
    if len(archived) > REMEMBERED:
        del archived[next(iter(archived))]
    return ticket


class CacheRule:
    """What to archive of one answer, given the browser's HTTP cache (module docstring).

    ``sent`` are the request's raw headers, ``earlier`` the sink's result for
    the URL's latest capture in the same browser context (a service ``Ticket``
    with its ``payload_digest`` once written, or an ``Exchange`` without a
    sink), if any.
    """

    def __init__(self, sent: list[tuple[bytes, bytes]], status: int, earlier: Any) -> None:
        names = {name.lower() for name, _ in sent}
        self.on_wire = any(name in names for name in _SENT_ONLY)
        self.conditional = self.on_wire and any(name in names for name in _CONDITIONAL)
        self.status = status
        self.earlier = earlier
        self.earlier_digest = _digest_of(earlier)
        #: "hit" or "revalidated" when the record must come from the browser's cache
        self.from_cache: str | None = None
        if not self.on_wire:
            self.from_cache = "hit"
        elif self.conditional and status == 200 and self.earlier_digest is None:
            self.from_cache = "revalidated"

    @property
    def bodiless(self) -> bool:
        """A redirect (Chromium keeps no body), a ``304``, or a cache hit archived before."""
        if 300 <= self.status < 400:
            return True
        return not self.on_wire and self.earlier is not None

    def keeps_earlier(self, body: bytes) -> bool:
        """True when the archive already holds this answer: not archived again."""
        if not self.on_wire:
            return self.earlier is not None
        if self.conditional and self.status == 200 and self.earlier_digest is not None:
            return sha1_digest(body) == self.earlier_digest
        return False


def _digest_of(earlier: Any) -> str | None:
    """The payload digest of an earlier capture (None while it is not written yet)."""
    if earlier is None:
        return None
    if isinstance(earlier, Exchange):
        return sha1_digest(earlier.body)
    return getattr(earlier, "payload_digest", None)


def _impl(obj: Any) -> Any:
    """Playwright's implementation object behind a public one (the object itself if it is one)."""
    return getattr(obj, "_impl_obj", obj)
