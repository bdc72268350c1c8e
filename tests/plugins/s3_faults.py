"""A fault-injecting HTTP proxy between boto3 and the test S3 server.

boto3 is pointed at the proxy (``endpoint_url``); each request is forwarded to
moto unless a planned fault matches it first. Faults are what S3 and networks
really do: ``slowdown`` (503 SlowDown), ``error500`` (500 InternalError),
``reset`` (connection reset halfway through the body), ``stall`` (stop
mid-body until the client times out), ``corrupt`` (flip one byte of the body
on the way), ``cut_response`` (drop the connection halfway through the
response), ``hang``/``hang_before_body`` (block until released, for kill
tests), and canned errors ``denied``, ``expired``, ``badkey``.

One request per connection (``Connection: close`` both ways) keeps the proxy
simple and the fault-to-request mapping exact.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

_ERRORS = {
    "slowdown": (503, "SlowDown", "Please reduce your request rate."),
    "error500": (500, "InternalError", "We encountered an internal error. Please try again."),
    "denied": (403, "AccessDenied", "Access Denied"),
    "expired": (400, "ExpiredToken", "The provided token has expired."),
    "badkey": (403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist."),
}


@dataclass
class Rule:
    """Apply ``fault`` to ``count`` requests that match, after skipping ``skip`` of them."""

    fault: str
    method: str | None = None
    query: str | None = None  # substring of the query string, e.g. "partNumber"
    path: str | None = None  # substring of the path (a file name)
    count: int = 1
    skip: int = 0
    applied: int = 0
    hit: threading.Event = field(default_factory=threading.Event)

    def matches(self, method: str, path: str, query: str) -> bool:
        return (
            (self.method is None or method == self.method)
            and (self.query is None or self.query in query)
            and (self.path is None or self.path in path)
        )


class FaultProxy:
    """A threaded proxy on 127.0.0.1 in front of ``upstream``; see the module docstring."""

    def __init__(self, upstream: str, stall_seconds: float = 4.0) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.stall_seconds = stall_seconds
        self.rules: list[Rule] = []
        self.requests: list[tuple[str, str, str, str]] = []  # method, path, query, outcome
        self._lock = threading.Lock()
        self.release = threading.Event()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def add(self, fault: str, **match: object) -> Rule:
        """Plan a fault (see :class:`Rule`); returns the rule, whose ``hit`` event is set."""
        rule = Rule(fault, **match)  # type: ignore[arg-type]
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Forget planned faults and let hung requests go."""
        with self._lock:
            self.rules.clear()
        self.release.set()
        self.release = threading.Event()

    def close(self) -> None:
        """Stop serving; release everything that hangs."""
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    # --- one connection ----------------------------------------------------------
    def _pick(self, method: str, path: str, query: str) -> str | None:
        with self._lock:
            for rule in self.rules:
                if rule.applied < rule.skip + rule.count and rule.matches(method, path, query):
                    rule.applied += 1
                    if rule.applied > rule.skip:
                        rule.hit.set()
                        return rule.fault
                    return None
        return None

    def _handle(self, client: socket.socket) -> None:
        client.settimeout(60)
        try:
            head, rest = _read_head(client)
        except (ConnectionError, TimeoutError, ValueError):
            return
        lines = head.split(b"\r\n")
        method, target, _version = lines[0].decode("latin-1").split(" ", 2)
        path, _, query = target.partition("?")
        headers = [line.decode("latin-1").split(":", 1) for line in lines[1:] if line]
        length = next((int(v) for k, v in headers if k.strip().lower() == "content-length"), 0)
        expect = any(k.strip().lower() == "expect" for k, _ in headers)
        fault = self._pick(method, path, query)
        self.requests.append((method, path, query, fault or "ok"))

        if fault in _ERRORS:
            status, code, message = _ERRORS[fault]
            if not expect:
                _read_exact(client, length - len(rest), rest)
            body = b"" if method == "HEAD" else (
                f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                f"<Message>{message}</Message><RequestId>fault</RequestId></Error>"
            ).encode()
            client.sendall(
                f"HTTP/1.1 {status} {code}\r\nContent-Type: application/xml\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
            )
            return
        if fault == "hang_before_body":
            self.release.wait()
            return
        if expect:
            client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if fault in {"reset", "stall", "hang"}:
            _read_exact(client, max(0, length // 2 - len(rest)), rest)
            if fault == "stall":
                self.release.wait(self.stall_seconds)
            elif fault == "hang":
                self.release.wait()
            # RST, not FIN: what a dropped connection looks like to the client.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        body = _read_exact(client, length - len(rest), rest)
        if fault == "corrupt" and body:
            body = body[:-1] + bytes([body[-1] ^ 0xFF])
        kept = [f"{k}:{v}" for k, v in headers
                if k.strip().lower() not in {"connection", "expect"}]
        request = "\r\n".join([lines[0].decode("latin-1"), *kept, "Connection: close", "", ""])
        with socket.create_connection(self.upstream, timeout=60) as up:
            up.sendall(request.encode("latin-1") + body)
            response = _read_all(up)
        response = _force_close(response)
        if fault == "cut_response":
            client.sendall(response[: len(response) // 2])
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        client.sendall(response)


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _read_exact(sock: socket.socket, n: int, start: bytes = b"") -> bytes:
    parts = [start]
    while n > 0:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            break
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _read_all(sock: socket.socket) -> bytes:
    parts = []
    while chunk := sock.recv(1 << 20):
        parts.append(chunk)
    return b"".join(parts)


def _force_close(response: bytes) -> bytes:
    head, sep, body = response.partition(b"\r\n\r\n")
    lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + sep + body


@pytest.fixture
def fault_proxy(s3_server: str) -> Iterator[FaultProxy]:
    """A fresh fault proxy in front of the session's S3 server."""
    proxy = FaultProxy(s3_server)
    try:
        yield proxy
    finally:
        proxy.close()


def wait_for(event: threading.Event, what: str, timeout: float = 30.0) -> None:
    """Wait for a rule to fire, or fail the test naming it."""
    if not event.wait(timeout):
        raise AssertionError(f"timed out waiting for {what}")
    time.sleep(0.05)
