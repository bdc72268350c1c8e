"""A SOCKS5 proxy that holds Chromium to the egress policy (:mod:`newsarchive.discover.egress`).

Chromium is launched with ``--proxy-server=socks5://127.0.0.1:PORT`` and
``--proxy-bypass-list=<-loopback>`` (without it Chromium would go straight to
loopback addresses), so every connection it makes -- navigations, redirects,
subresources, XHR and ``fetch()``, WebSockets, workers, the favicon -- comes
here first, naming its host. Chromium does not resolve names itself behind a
SOCKS5 proxy; this proxy resolves the host, checks every address, and
connects to an allowed one itself. As with Scrapy's resolver, the address
checked is the address connected to: no rebinding window. A refused
connection gets SOCKS reply 2 ("not allowed by ruleset"), which Chromium
reports as a failed request; :meth:`EgressProxy.refusal` tells the render
handler why, so the failed URL gets its ``crawl.log`` line.

Why a proxy and not interception: Playwright's ``route()`` sends every
request through Python and turns off the browser cache (far slower, see
``benchmarks/README.md``), and CDP ``Fetch`` interception costs CPU on every
page even with a narrow pattern (:mod:`.render.browserside`);
both also see requests *before* DNS, so they could check a name but not the
address the browser then connects to. ``--host-resolver-rules`` can map names
but cannot check addresses. The proxy works per connection, not per request
(keep-alive connections carry many), and only relays bytes after the
handshake. ``benchmarks/render.py`` measures the render rate with it.

It runs on its own thread and event loop, so the browser's traffic does not
wait for Scrapy's callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
import threading
from collections import OrderedDict

from newsarchive.discover.egress import (
    Blocked,
    EgressPolicy,
    canonical_host,
    endpoint_text,
    is_localhost,
)

logger = logging.getLogger(__name__)

_RELAY_CHUNK = 256 * 1024
_REMEMBERED = 10_000
_HANDSHAKE_TIMEOUT = 30.0
# SOCKS5 replies (RFC 1928)
_OK, _NOT_ALLOWED, _UNREACHABLE, _REFUSED, _BAD_COMMAND, _BAD_ADDRESS = 0, 2, 4, 5, 7, 8


class EgressProxy:
    """SOCKS5 (no auth, CONNECT only) on 127.0.0.1, enforcing ``policy`` on every connection."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy
        self.port = 0
        self.connections = 0  # connections made on a client's behalf
        self.refusals = 0
        self._refused: OrderedDict[tuple[str, int], Blocked] = OrderedDict()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- life ---------------------------------------------------------------------
    def start(self) -> int:
        """Listen on a free port of 127.0.0.1 (on a thread of its own); returns the port."""
        if self._thread is not None:
            return self.port
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="egress-proxy", daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), loop
        ).result(timeout=30)
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("egress proxy for the browser on 127.0.0.1:%d", self.port)
        return self.port

    def chromium_args(self) -> list[str]:
        """Chromium flags sending every connection through this proxy (started if need be)."""
        port = self.start()
        return [
            f"--proxy-server=socks5://127.0.0.1:{port}",
            "--proxy-bypass-list=<-loopback>",  # loopback too goes through the proxy
            # WebRTC can send UDP around a proxy; keep it to proxied paths only.
            "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        ]

    def close(self) -> None:
        """Stop listening, drop the open tunnels, end the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = self._server = None

    # -- verdicts -----------------------------------------------------------------
    def refusal(self, host: str, port: int) -> Blocked | None:
        """Why connections to ``host:port`` were refused, if they were."""
        with self._lock:
            return self._refused.get((canonical_host(host), port))

    def _remember(self, host: str, port: int, blocked: Blocked) -> None:
        with self._lock:
            self.refusals += 1
            self._refused[(canonical_host(host), port)] = blocked
            if len(self._refused) > _REMEMBERED:
                self._refused.popitem(last=False)

    async def _addresses(self, host: str, port: int) -> tuple[list[str], Blocked | None]:
        """The addresses of ``host`` the policy allows for ``port``, or why there are none."""
        if self.policy.enabled and not self.policy.allows_endpoint(host, port) and is_localhost(host):
            return [], Blocked("loopback", endpoint_text(host, port))
        assert self._loop is not None
        try:
            infos = await self._loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, RuntimeError):  # no such host; or stopping: no thread left to resolve in
            return [], None
        allowed: list[str] = []
        refused: Blocked | None = None
        for _family, _type, _proto, _name, sockaddr in infos:
            address = str(sockaddr[0])
            blocked = self.policy.check_address(address, host, port)
            if blocked is None:
                allowed.append(address)
            elif refused is None:
                refused = blocked
        return allowed, refused

    # -- SOCKS5 -------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        upstream: asyncio.StreamWriter | None = None
        try:
            target = await asyncio.wait_for(self._handshake(reader, writer), _HANDSHAKE_TIMEOUT)
            if target is None:
                return
            host, port = target
            addresses, blocked = await self._addresses(host, port)
            if not addresses:
                if blocked is not None:
                    self._remember(host, port, blocked)
                    logger.debug("egress proxy refused %s:%d: %s", host, port, blocked)
                await _reply(writer, _NOT_ALLOWED if blocked is not None else _UNREACHABLE)
                return
            up_reader = None
            for address in addresses:
                try:
                    up_reader, upstream = await asyncio.open_connection(address, port)
                    break
                except OSError:
                    continue
            if up_reader is None or upstream is None:
                await _reply(writer, _REFUSED)
                return
            self.connections += 1
            await _reply(writer, _OK)
            await _relay(reader, writer, up_reader, upstream)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            logger.debug("egress proxy connection ended: %s", exc)
        finally:
            for w in (writer, upstream):
                if w is not None:
                    w.close()
            self._tasks.discard(task)

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[str, int] | None:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        if version != 5 or 0 not in methods:
            writer.write(b"\x05\xff")
            return None
        writer.write(b"\x05\x00")
        version, command, _, kind = await reader.readexactly(4)
        if kind == 1:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif kind == 4:
            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        elif kind == 3:
            (length,) = await reader.readexactly(1)
            host = (await reader.readexactly(length)).decode("ascii", "replace")  # punycode, as in the URL
        else:
            await _reply(writer, _BAD_ADDRESS)
            return None
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        if version != 5 or command != 1:  # CONNECT only: no BIND, no UDP
            await _reply(writer, _BAD_COMMAND)
            return None
        return host, port


async def _reply(writer: asyncio.StreamWriter, code: int) -> None:
    writer.write(bytes((5, code, 0, 1, 0, 0, 0, 0, 0, 0)))
    await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        data = await reader.read(_RELAY_CHUNK)
        if not data:
            return
        writer.write(data)
        await writer.drain()


async def _relay(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    """Copy bytes both ways until either side closes."""
    tasks = [
        asyncio.ensure_future(_pipe(client_reader, up_writer)),
        asyncio.ensure_future(_pipe(up_reader, client_writer)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
