"""Fixtures for browser rendering tests: a demo site with client-rendered articles,
a tiny site of client-rendered pages, crawls run as subprocesses tagged so the
Chromium processes they start can be found in ``/proc`` afterwards."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from newsarchive.fetch.render import procs

ROOT = Path(__file__).resolve().parents[2]
MARK = "NEWSARCHIVE_TEST_MARK"

APP_JS = b"""fetch('/story/' + document.body.dataset.n + '.json').then(r => r.json()).then(d => {
  document.getElementById('root').innerHTML = '<article><h1>' + d.title + '</h1><p>' + d.text + '</p>'
    + '<img src="' + d.ad + '"></article>';
});"""


@dataclass
class SpaSite:
    """``/`` links to ``pages`` client-rendered pages; each fetches its story JSON.

    Every page also asks for an ad on ``localhost`` (blocked in the tests that
    set ``RENDER_BLOCK_HOSTS``). ``log`` holds (host header, path) of every request.
    """

    pages: int
    url: str = ""
    log: list[tuple[str, str, str]] = field(default_factory=list)


def _spa_handler(site: SpaSite) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            site.log.append((self.headers.get("Host", ""), self.path, self.headers.get("User-Agent", "")))
            port = self.server.server_address[1]
            if self.path == "/":
                links = "".join(f'<a href="/p/{i}.html">story {i}</a> ' for i in range(site.pages))
                self._send(f"<html><body><h1>Stories</h1>{links}</body></html>".encode(), "text/html")
            elif self.path.startswith("/p/"):
                n = self.path[3:].split(".")[0]
                self._send(
                    f'<html><head><script src="/app.js" defer></script></head>'
                    f'<body data-n="{n}"><div id="root"></div></body></html>'.encode(), "text/html")
            elif self.path == "/app.js":  # gzip when asked: archived decoded, labelled so
                if "gzip" in self.headers.get("Accept-Encoding", ""):
                    self._send(gzip.compress(APP_JS, mtime=0), "application/javascript", gzip=True)
                else:
                    self._send(APP_JS, "application/javascript")
            elif self.path.startswith("/story/"):
                n = self.path[7:].split(".")[0]
                self._send(json.dumps({
                    "title": f"Story {n}", "text": f"The text of story {n}. " * 20,
                    "ad": f"http://localhost:{port}/ad.png",
                }).encode(), "application/json")
            elif self.path == "/robots.txt":
                self._send(b"User-agent: *\nAllow: /\n", "text/plain")
            else:
                self._send(b"not here", "text/plain", 404)

        def _send(self, body: bytes, ctype: str, status: int = 200, gzip: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            if gzip:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def make_spa_site() -> Iterator[Any]:
    """Factory: ``make_spa_site(pages)`` serves a :class:`SpaSite` on loopback."""
    servers = []

    def make(pages: int) -> SpaSite:
        site = SpaSite(pages)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _spa_handler(site))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        site.url = f"http://127.0.0.1:{server.server_address[1]}/"
        return site

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def crawl_command(url: str, out: Path, overrides: dict[str, Any], depth: int = 1) -> list[str]:
    """A crawl in a fresh interpreter with setting overrides the CLI has no option for."""
    code = (
        "import json, sys; from pathlib import Path; "
        "from newsarchive.crawl import run_crawl; "
        "s = run_crawl(Path(sys.argv[2]), {'start_urls': [sys.argv[1]], 'depth': int(sys.argv[4])}, "
        "json.loads(sys.argv[3])); print(json.dumps(s.as_dict()))"
    )
    return [sys.executable, "-c", code, url, str(out), json.dumps(overrides), str(depth)]


def tagged_env() -> tuple[dict[str, str], str]:
    """The environment for a crawl subprocess, tagged so its browsers can be found."""
    tag = uuid.uuid4().hex
    return {**os.environ, MARK: tag, "PYTHONPATH": str(ROOT)}, tag


def leftover(tag: str) -> list[str]:
    """Command lines of processes still carrying ``tag`` (should be none)."""
    return [procs.cmdline(p)[:120] or f"pid {p}" for p in procs.with_marker(MARK, tag)
            if procs.cmdline(p)]


def run_tagged(cmd: list[str], timeout: float = 300) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run ``cmd`` tagged; returns the result and the tag."""
    env, tag = tagged_env()
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout), tag


Page = tuple[bytes, str]  # body, content type; an empty body is a 404


@contextmanager
def serve_pages(page: Callable[[str], Page], headers: dict[str, str] | None = None) -> Iterator[tuple[str, list[str]]]:
    """A threaded HTTP/1.1 server on loopback answering ``page(path)``; yields its URL and the paths asked for."""
    log: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            log.append(self.path)
            body, ctype = page(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    with serve_handler(Handler) as url:
        yield url, log


@contextmanager
def serve_handler(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on loopback with ``handler``; yields its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
