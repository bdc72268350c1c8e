"""The demo site on a real HTTP/1.1 server on loopback, instrumented for tests.

:class:`DemoSite` serves a :class:`~newsarchive.demosite.site.SiteModel` from
a ``ThreadingHTTPServer`` in a daemon thread, with keep-alive, gzip when the
client accepts it, chunked transfer for chunked routes, ETag and Last-Modified
(If-None-Match, If-Modified-Since),
and no per-request logging. It records every request it sees
(:attr:`DemoSite.requests`) and the exact entity body of the last response per
request target (:attr:`DemoSite.sent`: after gzip, before chunk framing), so
tests can compare an archive with what really went over the wire.
"""

from __future__ import annotations

import email.utils
import http.server
import logging
import threading
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from newsarchive.demosite.content import Article
from newsarchive.demosite.site import PageInfo, Route, SiteModel
from newsarchive.demosite.templates import rotation

logger = logging.getLogger(__name__)

CHUNKS = 4  # pieces a chunked body is sent in


@dataclass(frozen=True)
class SeenRequest:
    """One request as the server received it, and the status it got."""

    method: str
    path: str  # the request target as sent: path plus query
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 0
    version: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        lower = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lower), None)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding value allows gzip (q=0 refuses it)."""
    allowed: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name:
            allowed[name.strip().lower()] = q
    if "gzip" in allowed:
        return allowed["gzip"] > 0
    return allowed.get("*", 0) > 0


def not_modified(headers: Any, etag: str, modified: str) -> bool:
    """RFC 9110 section 13.2.2: ``If-None-Match`` decides when sent, else ``If-Modified-Since``."""
    match = headers.get("If-None-Match")
    if match is not None:
        return match.strip() == "*" or etag in (t.strip() for t in match.split(","))
    since = headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        return email.utils.parsedate_to_datetime(modified) <= \
            email.utils.parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # an unreadable date is ignored, as the RFC says


def chunks(body: bytes, count: int = CHUNKS) -> list[bytes]:
    """``body`` cut into ``count`` non-empty pieces (fewer if it is tiny)."""
    size = max(1, -(-len(body) // count))
    return [body[i : i + size] for i in range(0, len(body), size)]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "newsarchive-demosite/1.0"
    disable_nagle_algorithm = True  # chunks and small pages go out without a 40 ms stall
    timeout = 120  # an idle keep-alive connection is dropped after this
    server: _Server

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.site._respond(self, head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self.server.site._respond(self, head=True)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # a benchmark makes thousands of requests; stderr is not the place


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for idle keep-alive connections
    request_queue_size = 128  # a crawl opens many connections at once

    def __init__(self, address: tuple[str, int], site: DemoSite) -> None:
        self.site = site
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("demo site: connection from %s ended badly", client_address, exc_info=True)


class DemoSite:
    """The bundled demo news site, served on ``host:port`` (``port=0``: any free port).

    Use as ``with DemoSite() as site: ...`` or ``site.start()`` / ``site.stop()``.
    ``articles`` is the number of day-1 articles; :meth:`set_day` moves to a
    later day with new articles; ``templates`` picks the article templates in
    rotation by name (default: every registered one, see
    :mod:`newsarchive.demosite.templates`). ``url`` (``http://127.0.0.1:PORT/``) and
    ``port`` are known once started.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        articles: int = 60,
        day: int = 1,
        templates: Sequence[str] = (),
        record: bool = True,
        latency: float = 0.0,
    ) -> None:
        if articles < 1:
            raise ValueError("the demo site needs at least one article")
        self.host = host
        self._port = port
        self.article_count = articles
        self.day = day
        # Template names in rotation, fixed now so a later day keeps them even if
        # the registry changes in between; default: the registry's rotation.
        self.templates = tuple(templates) or rotation()
        self.record = record  # keep requests and sent bodies (off for a long-running server)
        self.latency = latency  # seconds each response waits (a far-away server, for benchmarks)
        self.requests: list[SeenRequest] = []
        self.sent: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._model: SiteModel | None = None

    # -- life cycle ----------------------------------------------------------

    def bind(self) -> DemoSite:
        """Listen on the socket and build the site, without serving yet; returns self."""
        if self._server is None:
            self._server = _Server((self.host, self._port), self)
            self._port = self._server.server_address[1]
            self._model = SiteModel(self.base_url, self.article_count, self.day, self.templates)
        return self

    def start(self) -> DemoSite:
        """Bind, build the site and serve from a daemon thread; returns self."""
        if self._thread is not None:
            return self
        server = self.bind()._server
        assert server is not None
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1},
            name=f"demosite:{self._port}", daemon=True,
        )
        self._thread.start()
        logger.info("demo site serving %d articles at %s", len(self.articles), self.url)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (for the CLI)."""
        server = self.bind()._server
        assert server is not None
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
            self._server = None

    def stop(self) -> None:
        """Stop serving and close the socket."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------

    @property
    def port(self) -> int:
        """The port (the real one once started)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        if self._port == 0:
            raise RuntimeError("the demo site has no port yet: call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/``, the home page."""
        return self.base_url + "/"

    def urljoin(self, path: str) -> str:
        """Absolute URL of a site path."""
        return urllib.parse.urljoin(self.url, path)

    # -- the site ------------------------------------------------------------

    @property
    def model(self) -> SiteModel:
        """The site as data (routes, bodies, truth) on the current day."""
        if self._model is None:
            raise RuntimeError("the demo site is not started: call start() first")
        return self._model

    def set_day(self, day: int) -> None:
        """Move to ``day``: its new articles appear, rotating ads change; served at once."""
        self._model = SiteModel(self.base_url, self.article_count, day, self.templates)
        self.day = day

    @property
    def articles(self) -> list[Article]:
        """Articles of the current day, oldest first, with their truth."""
        return self.model.articles

    def article(self, url_or_path: str) -> Article:
        """The article at a URL or path (KeyError if none)."""
        return self.model.article(url_or_path)

    def pages(self) -> list[PageInfo]:
        """Every URL a complete crawl meets (disallowed ones flagged), with status and type."""
        return self.model.pages()

    def expected_sidecar(self, url: str) -> dict[str, object]:
        """Truth for the article at ``url`` in the shape of ``yahoo.expected.json``."""
        return self.model.expected_sidecar(url)

    def warm(self) -> None:
        """Render every page now (they are otherwise rendered on first request)."""
        self.model.warm()

    def reset_log(self) -> None:
        """Forget the requests and bodies recorded so far."""
        with self._lock:
            self.requests.clear()
            self.sent.clear()

    # -- serving -------------------------------------------------------------

    def _log(self, handler: _Handler, status: int, body: bytes, head: bool) -> None:
        seen = SeenRequest(handler.command, handler.path, dict(handler.headers.items()), status,
                           handler.request_version)
        with self._lock:
            self.requests.append(seen)
            if not head:
                self.sent[handler.path] = body

    def _respond(self, handler: _Handler, head: bool) -> None:
        if self.latency > 0:
            time.sleep(self.latency)  # one server thread per connection: delays overlap
        model = self.model
        target = handler.path
        if "://" in target:  # absolute-form request target
            parts = urllib.parse.urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        route = model.route(target)
        if route is None:
            route = Route(target, "not_found", status=404)
            body = model.not_found_body(urllib.parse.urlsplit(target).path)
        else:
            body = model.body(route)
        status = route.status
        headers = [("Content-Type", route.content_type)]
        if route.location:
            headers.append(("Location", route.location))
        gzipped = route.transfer == "gzip" and accepts_gzip(
            handler.headers.get("Accept-Encoding", "")
        )
        if route.transfer == "gzip":
            headers.append(("Vary", "Accept-Encoding"))
        if status == 200:
            etag = model.etag(route)
            if gzipped:
                body = model.gzipped(route)
                headers.append(("Content-Encoding", "gzip"))
                etag = etag[:-1] + '-gz"'
            modified = model.last_modified(route)
            headers += [("ETag", etag), ("Last-Modified", modified)]
            if not_modified(handler.headers, etag, modified):
                status, body = 304, b""
        chunked = route.transfer == "chunked" and status != 304
        chunked = chunked and handler.request_version == "HTTP/1.1"
        if self.record:
            self._log(handler, status, body, head)
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        elif status != 304:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if head or status == 304:
            return
        try:
            if chunked:
                for piece in chunks(body):
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                handler.wfile.write(b"0\r\n\r\n")
            else:
                handler.wfile.write(body)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
