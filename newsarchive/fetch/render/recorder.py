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
off the network (:class:`CacheRule`), told apart by what Chromium reports
only for the network stack's own traffic:

- an answer the browser took from its cache sent no request: its raw request
  headers have no ``Host`` (``:authority`` in HTTP/2 and 3). It is not
  archived when this context archived the URL (that capture is what the
  cache holds); otherwise -- a page's own document, or a copy the cache got
  between two pages, while nothing was recorded -- it is archived from the
  cache, with ``WARC-Newsarchive-Browser-Cache: hit``;
- a ``304`` to the browser's revalidation is archived as the ``304`` it is,
  with the digest of the copy it confirmed: the capture service writes a
  server-not-modified ``revisit`` of that capture;
- the network stack's own revalidation shows as a ``200`` to a conditional
  request, with the cached body (Playwright keeps no status from the wire).
  When no body bytes came off the wire (``Request.sizes()``), the server
  said ``304``: archived as that ``304``, as above. Otherwise it is the
  server's new ``200``.
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
FROM_CACHE_HEADER = "WARC-Newsarchive-Browser-Cache"  # "hit": see the module docstring
OMITTED_HEADER = "WARC-Newsarchive-Body-Omitted"
UNREAD = "body unavailable"  # page.failed reason of a response whose body could not be read
_DROPPED_WHEN_DECODED = (b"content-encoding", b"content-length")
_SENT_ONLY = (b"host", b":authority")  # request headers only the network stack adds
_CONDITIONAL = (b"if-none-match", b"if-modified-since")
PENDING_WAIT = 10.0  # seconds a record waits for the one of the same URL before it
REMEMBERED = 4096  # URLs whose capture a context remembers for its cache hits (a digest each)
#: statuses a cache keeps without being told to (RFC 9111, 4.2.2), less 204 and 206: what
#: a context's cache may answer with later, so what ``archived`` remembers
_KEPT_BY_CACHE = frozenset({200, 203, 300, 301, 308, 404, 405, 410, 414, 501})

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
    """Header pairs; a value Chromium joined with newlines (a repeated header) split again."""
    return [(h["name"].encode("latin-1", "replace"), value.encode("latin-1", "replace"))
            for h in array for value in h["value"].split("\n")]


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

    def __init__(self, page: Page, archived: dict[str, str] | None = None,
                 pending: dict[str, asyncio.Future[None]] | None = None) -> None:
        self.page = page
        #: URL -> the latest record of it being made in this context (shared like ``archived``)
        self.pending: dict[str, asyncio.Future[None]] = {} if pending is None else pending
        #: URL -> the payload digest of its latest capture in this tab's browser
        #: context, whose HTTP cache the tab shares (see CacheRule), least recently used first
        self.archived: dict[str, str] = {} if archived is None else archived
        self.sink: Sink | None = None
        self.active = False
        self._reset()

    def _reset(self) -> None:
        self.inflight: set[Request] = set()
        self.tickets: dict[Request, Any] = {}
        self.requested: list[str] = []
        self.failed: dict[str, str] = {}
        self.cached = 0  # answers from the browser's cache not archived again
        self.loaded: set[str] = set()  # URLs of the page archived (or held from before), 206s aside
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
            # Between two pages the tab's old page may still load things into the
            # context's cache, unrecorded: the archive's copy is no longer the cache's.
            self.archived.pop(request.url, None)
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
        # A record of the same URL still being made in this context is waited for.
        url = request.url
        before = self.pending.get(url)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending[url] = done
        task = asyncio.ensure_future(self._record(request, response, before))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._recorded(url, done))

    def _recorded(self, url: str, done: asyncio.Future[None]) -> None:
        done.set_result(None)
        if self.pending.get(url) is done:
            del self.pending[url]

    def _on_failed(self, request: Request) -> None:
        if not self.active or request not in self.inflight:
            return
        self._touch()
        self.inflight.discard(request)
        self.failed[request.url] = request.failure or "failed"

    # -- records ------------------------------------------------------------------
    async def _record(self, request: Request, response: Response,
                      before: asyncio.Future[None] | None = None) -> None:
        url = request.url
        try:
            if response.from_service_worker:  # blocked per context; never the server's answer
                self.cached += 1
                return
            resp_headers, req_headers = await asyncio.gather(
                response.headers_array(), request.headers_array()
            )
            sent = _pairs(req_headers)
            status = response.status
            if before is not None:
                # Another record of the URL is being made in this context: this answer
                # may be its copy from the cache, or a revalidation of it. Made in
                # the order the answers came, each knows the one before.
                await asyncio.wait([before], timeout=PENDING_WAIT)
            rule = CacheRule(sent, status, self.archived.get(url), _is_document(request))
            body = b"" if rule.bodiless else await response.body()
            if rule.held:
                self.cached += 1
                self.loaded.add(url)
                remember(self.archived, url, self.archived[url])  # used again: the most recent
                return
            reason = response.status_text or None
            warc_headers = {FROM_CACHE_HEADER: "hit"} if rule.from_cache else {}
            confirmed = rule.earlier if status == 304 else None
            if rule.conditional and status == 200 and body and await _nothing_came(request):
                # The network stack revalidated its copy: the wire carried a 304.
                status, reason, confirmed, body = 304, "Not Modified", sha1_digest(body), b""
            headers, decoded = stored_headers(_pairs(resp_headers))
            headers, omitted = fit_length(headers, body)
            digest = confirmed if status == 304 else sha1_digest(body)
            exchange = Exchange(
                url=url,
                method=request.method,
                request_headers=sent,
                status=status,
                reason=reason,
                response_headers=headers,
                body=body,
                fetched_at=self._started.pop(request, datetime.now(UTC)),
                request_body=request.post_data_buffer or b"",
                warc_headers={**warc_headers, **decoded, **omitted},
                not_modified_digest=confirmed,
                payload_digest=None if status == 304 else digest,
            )
            self.tickets[request] = self.sink(exchange) if self.sink is not None else exchange
            if status != 206:
                self.loaded.add(url)
            if request.method == "GET" and digest is not None and (
                    status in _KEPT_BY_CACHE or status == 304):
                remember(self.archived, url, digest)  # what the context's cache now holds
        except asyncio.CancelledError:  # abort(): what the cache got is not archived
            self.archived.pop(url, None)
            raise
        except Exception as exc:  # a tab closed or navigated away mid-read
            self.archived.pop(url, None)
            self.failed[url] = f"{UNREAD}: {exc}"
            logger.debug("no body for %s: %s", url, exc)

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


def remember(archived: dict[str, str], url: str, digest: str) -> None:
    """Note ``digest`` as the payload of the latest capture of ``url``; the least recently
    used go past :data:`REMEMBERED` URLs (a hit on one of those is archived again, from the cache)."""
    archived.pop(url, None)
    archived[url] = digest
    if len(archived) > REMEMBERED:
        del archived[next(iter(archived))]


class CacheRule:
    """What to archive of one answer, given the browser's HTTP cache (module docstring).

    ``sent`` are the request's raw headers; ``earlier`` the payload digest of the
    URL's latest capture in the same browser context, if any; ``document`` is
    True for the page's own document (never left out: its DOM record points at it).
    """

    def __init__(self, sent: list[tuple[bytes, bytes]], status: int, earlier: str | None,
                 document: bool = False) -> None:
        names = {name.lower() for name, _ in sent}
        on_wire = any(name in names for name in _SENT_ONLY)
        self.earlier = earlier
        #: answered by the cache, not the network
        self.from_cache = not on_wire
        #: a conditional request the network stack sent (a 200 to it may be its cache's copy)
        self.conditional = on_wire and any(name in names for name in _CONDITIONAL)
        #: a cache hit whose capture the archive holds: not archived again
        self.held = self.from_cache and earlier is not None and not document
        #: no body to read: a redirect (Chromium keeps none), a 304, or a held hit
        self.bodiless = 300 <= status < 400 or self.held


async def _nothing_came(request: Request) -> bool:
    """True when no body bytes of ``request``'s answer came off the network.

    False when Chromium cannot say: the answer is then archived as the ``200``
    Playwright reports, rather than lost.
    """
    try:
        sizes = await request.sizes()
    except Exception as exc:  # the request went away meanwhile
        logger.debug("no sizes for %s: %s", request.url, exc)
        return False
    return int(sizes.get("responseBodySize", -1)) == 0


def _is_document(request: Request) -> bool:
    """True for a navigation of the page's main frame."""
    try:
        return bool(request.is_navigation_request() and request.frame.parent_frame is None)
    except Exception:  # a worker's request has no frame
        return False


def _impl(obj: Any) -> Any:
    """Playwright's implementation object behind a public one (the object itself if it is one)."""
    return getattr(obj, "_impl_obj", obj)
