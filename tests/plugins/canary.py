"""SSRF canary fixtures: a listener on other local addresses, and a site that reaches for it.

``canary``: a TCP listener on one port of every local address it can bind
(``0.0.0.0``, so 127.0.0.1, 127.0.0.2, ... and ``[::1]`` when the machine has
IPv6 loopback) that counts every connection it accepts and answers like a
web server.

``RebindingResolver``: a name resolver that changes its answer, as DNS
rebinding does.

``ssrf_site``: a site on 127.0.0.1 (another port) whose pages reach for the
canary in every spelling of a local address, through links, redirects
(also to ``169.254.169.254``), ``<img>``, ``<script>``, ``<iframe>``,
stylesheets, ``fetch()``, XHR and WebSocket. Every page also has an empty app
root and a script, so ``--render auto`` renders it. Each form gets its own
path (``/f3/img``), so a browser's rewriting of the host (``2130706433`` to
``127.0.0.1``) still tells the attempts apart.
"""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from twisted.internet._resolver import HostResolution
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IHostnameResolver
from zope.interface import implementer

METADATA_URL = "http://169.254.169.254/latest/meta-data/"


class Canary:
    """Counts connections to one port of every local address (see the module docstring)."""

    def __init__(self) -> None:
        self.connections = 0
        self.lines: list[bytes] = []
        self._lock = threading.Lock()
        v4 = socket.create_server(("0.0.0.0", 0))
        self.port = v4.getsockname()[1]
        self._socks = [v4]
        self.ipv6 = False
        try:
            v6 = socket.socket(socket.AF_INET6)
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            v6.bind(("::1", self.port))
            v6.listen()
            self._socks.append(v6)
            self.ipv6 = True
        except OSError:
            pass
        for sock in self._socks:
            threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def _accept(self, sock: socket.socket) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            conn.settimeout(2)
            try:
                self.lines.append(conn.recv(4096).split(b"\r\n", 1)[0])
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 6\r\n\r\ncanary")
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        """Stop listening."""
        for sock in self._socks:
            sock.close()

    def forms(self) -> list[str]:
        """``host:port`` of the canary, in every local spelling this machine can serve."""
        p = self.port
        forms = [
            f"127.0.0.1:{p}",  # the crawled site's own host, another port
            f"127.0.0.2:{p}",
            f"[::ffff:127.0.0.1]:{p}",
            f"2130706433:{p}",
            f"0x7f.1:{p}",
            f"0.0.0.0:{p}",
            f"localhost:{p}",
        ]
        name = socket.gethostname()
        try:
            if socket.gethostbyname(name).startswith("127."):
                forms.append(f"{name}:{p}")  # a name that is not "localhost" but is loopback
        except OSError:
            pass
        if self.ipv6:
            forms.append(f"[::1]:{p}")
        return forms


@implementer(IHostnameResolver)
class RebindingResolver:
    """DNS rebinding, for ``TWISTED_DNS_RESOLVER``: the machine's own name is first a
    public address (what a check before the download sees), then loopback."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        self.real = reactor.nameResolver
        self.answered = False

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> RebindingResolver:
        return cls(reactor)

    def install_on_reactor(self) -> None:
        self.reactor.installNameResolver(self)

    def resolveHostName(  # noqa: N802 (Twisted's interface)
        self, receiver: Any, hostName: str, portNumber: int = 0, *args: Any  # noqa: N803
    ) -> Any:
        if hostName == socket.gethostname() and not self.answered:
            self.answered = True
            receiver.resolutionBegan(HostResolution(hostName))
            receiver.addressResolved(IPv4Address("TCP", "93.184.216.34", portNumber))
            receiver.resolutionComplete()
            return receiver
        return self.real.resolveHostName(receiver, hostName, portNumber, *args)


@dataclass
class SsrfSite:
    """The hostile site's URL and what it reaches for."""

    url: str
    forms: list[str]
    paths: dict[str, list[str]] = field(default_factory=dict)  # how -> canary paths


def _pages(forms: list[str]) -> dict[str, tuple[int, dict[str, str], bytes]]:
    app = '<div id="root"></div><script>/* renders later */</script>'
    bases = [f"http://{form}/f{i}" for i, form in enumerate(forms)]
    links = "".join(f'<a href="{b}/link">c{i}</a> ' for i, b in enumerate(bases))
    hops = "".join(f'<a href="/redirect/{i}">r{i}</a> ' for i in range(len(forms)))
    index = (
        f"<html><head><title>hostile</title></head><body>{app}"
        f'<a href="/embeds">embeds</a> <a href="/scripted">scripted</a> '
        f'<a href="/redirect/metadata">metadata</a> {hops} {links}</body></html>'
    )
    embeds = "".join(
        f'<img src="{b}/img"><script src="{b}/script"></script>'
        f'<iframe src="{b}/iframe"></iframe><link rel="stylesheet" href="{b}/style">'
        for b in bases
    )
    calls = "".join(
        f'fetch("{b}/fetch").catch(() => 0);'
        f'try {{ const x = new XMLHttpRequest(); x.open("GET", "{b}/xhr"); x.send(); }} catch (e) {{}}'
        f'try {{ new WebSocket("{b.replace("http://", "ws://", 1)}/ws"); }} catch (e) {{}}'
        for b in bases
    )
    pages: dict[str, tuple[int, dict[str, str], bytes]] = {
        "/": (200, {"Set-Cookie": "visit=1; Path=/"}, index.encode()),  # Scrapy looks up public suffixes
        "/embeds": (200, {}, f"<html><body>{app}{embeds}</body></html>".encode()),
        "/scripted": (200, {}, f"<html><body>{app}<script>{calls}</script></body></html>".encode()),
        "/redirect/metadata": (302, {"Location": METADATA_URL}, b""),
        "/robots.txt": (200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"),
    }
    for i, b in enumerate(bases):
        pages[f"/redirect/{i}"] = (302, {"Location": f"{b}/redirect"}, b"")
    return pages


@pytest.fixture
def canary() -> Iterator[Canary]:
    """A fresh canary for one test."""
    c = Canary()
    yield c
    c.close()


@pytest.fixture
def ssrf_site(canary: Canary) -> Iterator[SsrfSite]:
    """The hostile site (see the module docstring), on 127.0.0.1."""
    forms = canary.forms()
    pages = _pages(forms)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            status, headers, body = pages.get(self.path, (404, {}, b"not here"))
            self.send_response(status)
            self.send_header("Content-Type", headers.get("Content-Type", "text/html"))
            for name, value in headers.items():
                if name != "Content-Type":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = SsrfSite(
        url=f"http://127.0.0.1:{server.server_address[1]}/",
        forms=forms,
        paths={
            "link": [f"/f{i}/link" for i in range(len(forms))],
            "redirect": [f"/f{i}/redirect" for i in range(len(forms))],
            "embed": [f"/f{i}/{what}" for i in range(len(forms)) for what in ("img", "script", "iframe", "style")],
            "script": [f"/f{i}/{what}" for i in range(len(forms)) for what in ("fetch", "xhr", "ws")],
        },
    )
    yield site
    server.shutdown()
    server.server_close()
