"""A hostile web server on 127.0.0.1: pages that try to exhaust a crawler.

Raw sockets (one thread per connection), because most cases are things a
well-behaved HTTP library refuses to send: a body shorter than its
``Content-Length``, an endless chunked body, a body that trickles forever,
a gzip header on a plain body. Every page is on the server's own origin (the
start URL's), so an egress policy that allows the start origin allows them.

``/`` links every case (:data:`CASES`), ``/bodies/`` those about bodies
(:data:`BODY_CASES`: no page that is slow to parse); ``site.hits`` counts requests per
path (the redirect loop's hops under ``/loop/``, the long URL under ``/long/``).
Large bodies are generated as they are sent, never built whole.
"""

from __future__ import annotations

import gzip
import html
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

LONG_PATH = "/long/" + "..%2f" * 20 + "%00" + "x" * (8192 - 6 - 100 - 3)  # an 8 KB URL path
TWO_GB = 2 * 1024**3
BOMB_MEMBER_ZEROS = 100 * 1024 * 1024  # one gzip member of 100 MB of zeros (~100 KB)
BOMB_MEMBERS = 100  # concatenated: ~10 MB that inflate to ~10 GB

# path -> what it is (the index links them in this order)
CASES = {
    "/bomb.html": "gzip bomb: ~10 MB of gzip that inflate to ~10 GB",
    "/gzip2.html": "Content-Encoding: gzip, gzip (gzipped twice)",
    "/fakegzip.html": "Content-Encoding: gzip on a plain body",
    "/endless.html": "an endless chunked body",
    "/short.html": "Content-Length larger than the body, then a disconnect",
    "/huge.bin": "a 2 GB body, generated as it is sent",
    "/loop/0": "a 50-hop redirect loop",
    "/deep.html": "10,000 nested <div>s",
    "/script.html": "a 50 MB <script>",
    "/attrs.html": "40,000 attributes on one element",
    "/charset.html": "a UTF-8 BOM, a windows-1252 meta, a koi8-r header, and NUL bytes",
    "/cookies.html": "100 Set-Cookie headers",
    LONG_PATH: "an 8 KB URL with ..%2f and %00",
    "/never.html": "a page that never finishes loading (one byte a second)",
    "/oom.html": "a script that allocates memory until the tab dies",
}
BODIES = "/bodies/"  # an index of the cases about bodies only (cheap to parse)
BODY_CASES = ("/bomb.html", "/gzip2.html", "/fakegzip.html", "/endless.html", "/short.html",
              "/huge.bin", "/script.html", "/cookies.html", "/never.html")


def _article(title: str, extra: str = "") -> bytes:
    text = " ".join(f"Sentence {i} of the story about {title}, told plainly." for i in range(40))
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body>{extra}"
        f"<article><h1>{title}</h1><p>{text}</p><p>{text}</p></article></body></html>"
    ).encode()


@dataclass
class HostileSite:
    """The running server: its URL and the requests it saw."""

    url: str = ""
    hits: Counter[str] = field(default_factory=Counter)
    _bomb: bytes = b""

    def bomb(self) -> bytes:
        """The gzip bomb's body (made once, ~10 MB)."""
        if not self._bomb:
            member = gzip.compress(bytes(BOMB_MEMBER_ZEROS), compresslevel=9, mtime=0)
            self._bomb = member * BOMB_MEMBERS
        return self._bomb


class _Conn:
    """One client connection: read requests, answer them, until the client or a case closes it."""

    def __init__(self, sock: socket.socket, site: HostileSite) -> None:
        self.sock = sock
        self.site = site
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def head(self, status: str, headers: list[tuple[str, str]]) -> None:
        lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def whole(self, body: bytes, ctype: str = "text/html; charset=utf-8",
              extra: list[tuple[str, str]] | None = None, status: str = "200 OK") -> None:
        self.head(status, [("Content-Type", ctype), ("Content-Length", str(len(body))), *(extra or [])])
        self.send(body)

    def read_request(self) -> str | None:
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 64 * 1024:
                return None
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        parts = head.split(b"\r\n", 1)[0].split(b" ")
        return parts[1].decode("latin-1") if len(parts) >= 2 else None

    def serve(self) -> None:
        try:
            while True:
                path = self.read_request()
                if path is None:
                    return
                if "://" in path:
                    path = "/" + path.split("://", 1)[1].partition("/")[2]
                key = "/loop/" if path.startswith("/loop/") else "/long/" if path.startswith("/long/") else path
                self.site.hits[key] += 1
                if not self.answer(path):
                    return  # the case ended the connection
        except OSError:
            return
        finally:
            self.sock.close()

    # -- the cases; each returns False when the connection must close ----------
    def answer(self, path: str) -> bool:
        if path in ("/", BODIES):
            cases = CASES if path == "/" else {p: w for p, w in CASES.items() if p in BODY_CASES}
            links = "".join(f'<li><a href="{p}">{html.escape(what)}</a></li>' for p, what in cases.items())
            self.whole(f"<!doctype html><html><body><h1>Hostile</h1><ul>{links}</ul></body></html>".encode())
        elif path == "/robots.txt":
            self.whole(b"User-agent: *\nAllow: /\n", "text/plain")
        elif path == "/bomb.html":
            self.whole(self.site.bomb(), extra=[("Content-Encoding", "gzip")])
        elif path == "/gzip2.html":
            body = gzip.compress(gzip.compress(_article("Twice gzipped"), mtime=0), mtime=0)
            self.whole(body, extra=[("Content-Encoding", "gzip, gzip")])
        elif path == "/fakegzip.html":
            self.whole(_article("Not really gzip"), extra=[("Content-Encoding", "gzip")])
        elif path == "/endless.html":
            return self.endless()
        elif path == "/short.html":
            body = _article("Cut short")
            self.head("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body) * 10))])
            self.send(body)
            return False  # disconnect before the announced end
        elif path == "/huge.bin":
            return self.huge()
        elif path.startswith("/loop/"):
            n = int(path.rsplit("/", 1)[1] or 0) if path.rsplit("/", 1)[1].isdigit() else 0
            self.whole(b"", extra=[("Location", f"/loop/{(n + 1) % 50}")], status="302 Found")
        elif path == "/deep.html":
            self.whole(b"<!doctype html><html><body>" + b"<div>" * 10_000 + b"deep"
                       + b"</div>" * 10_000 + b"</body></html>")
        elif path == "/script.html":
            return self.script()
        elif path == "/attrs.html":
            attrs = " ".join(f'data-a{i}="{i}"' for i in range(40_000))
            self.whole(f"<!doctype html><html><body><p {attrs}>Forty thousand attributes.</p>"
                       "</body></html>".encode())
        elif path == "/charset.html":
            body = (b"\xef\xbb\xbf<!doctype html><html><head><meta charset=\"windows-1252\">"
                    b"<title>Caf\xc3\xa9\x00 \x93quoted\x94</title></head><body><p>NUL\x00here "
                    b"\xe9t\xe9 \xd0\xbf\xd1\x80\xd0\xb8</p></body></html>")
            self.whole(body, "text/html; charset=koi8-r")
        elif path == "/cookies.html":
            cookies = [("Set-Cookie", f"c{i}={'v' * 40}{i}; Path=/; HttpOnly") for i in range(100)]
            self.whole(_article("One hundred cookies"), extra=cookies)
        elif path.startswith("/long/"):
            self.whole(_article("A long address"))
        elif path == "/never.html":
            return self.never()
        elif path == "/oom.html":  # V8's heap: JS arrays without end
            script = ("<script>let keep=[];setInterval(()=>{for(let i=0;i<20;i++)"
                      "keep.push(new Array(1<<20).fill(Math.random()));},5);</script>")
            self.whole(_article("Memory eater", script))
        elif path == "/buffers.html":  # outside V8's heap: typed arrays (not linked from /)
            # 16 MB every 50 ms while the page is parsed (so before its load event), up to 3.2 GB
            script = ("<script>let keep=[];for(let i=0;i<200;i++){keep.push(new Uint8Array(16<<20).fill(7));"
                      "const t=Date.now();while(Date.now()-t<50){}}</script>")
            self.whole(_article("Buffer eater", script))
        else:
            self.whole(b"not here", "text/plain", status="404 Not Found")
        return True

    def endless(self) -> bool:
        self.head("200 OK", [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")])
        first = b"<!doctype html><html><body>"
        self.send(b"%x\r\n%s\r\n" % (len(first), first))
        piece = b"<p>" + b"endless " * 8000 + b"</p>"
        chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
        while True:
            self.send(chunk)

    def huge(self) -> bool:
        self.head("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(TWO_GB))])
        block = bytes(range(256)) * 4096  # 1 MB
        for _ in range(TWO_GB // len(block)):
            self.send(block)
        return True

    def script(self) -> bool:
        size = 50 * 1024 * 1024
        start = b'<!doctype html><html><head><script>var big="'
        end = b'";</script></head><body><article><h1>Big script</h1><p>After the script.</p></article></body></html>'
        self.head("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(size + len(start) + len(end)))])
        self.send(start)
        block = b"a" * (1024 * 1024)
        for _ in range(50):
            self.send(block)
        self.send(end)
        return True

    def never(self) -> bool:
        first = b"<!doctype html><html><head><title>Never</title></head><body><p>"
        self.head("200 OK", [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")])
        self.send(b"%x\r\n%s\r\n" % (len(first), first))
        deadline = time.monotonic() + 600  # bounded, in case a client never gives up
        while time.monotonic() < deadline:
            self.send(b"1\r\n.\r\n")
            time.sleep(1)
        return False


def serve(site: HostileSite) -> Callable[[], None]:
    """Start the server for ``site`` (sets ``site.url``); returns the stop function."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    site.url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    stopping = threading.Event()
    conns: list[socket.socket] = []

    def accept() -> None:
        while not stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            conns.append(sock)
            threading.Thread(target=_Conn(sock, site).serve, daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        thread.join(5)
        listener.close()
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    return stop


@pytest.fixture(scope="module")
def hostile_site() -> Iterator[HostileSite]:
    """The hostile server, on a free port of 127.0.0.1, for one test module."""
    site = HostileSite()
    site.bomb()
    stop = serve(site)
    try:
        yield site
    finally:
        stop()


def case_url(site: HostileSite, path: str) -> str:
    """Absolute URL of a case."""
    return site.url.rstrip("/") + path

