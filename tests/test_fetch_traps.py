"""Crawler traps a user's summary must show: a redirect loop (3xx and meta
refresh) is a failed fetch, a link over ``URLLENGTH_LIMIT`` a refusal; each is
counted, has its crawl.log line, and the loop makes the run partial (exit 1)."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugins.collection import NEWSARCHIVE

LONG = "/long/" + "x" * 3000
ARTICLE = (b"<!doctype html><html><head><title>Fine</title></head><body><article><h1>Fine</h1>"
           + b"<p>An ordinary story with enough words in it to be one.</p>" * 8 + b"</article></body></html>")


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path
        self.server.hits.append(path)  # type: ignore[attr-defined]
        if path == "/":
            body = (f'<html><body><a href="/loop/0">loop</a> <a href="/refresh/0">refresh</a> '
                    f'<a href="{LONG}">long</a> <a href="/fine.html">fine</a></body></html>').encode()
            self._send(200, body)
        elif path.startswith("/loop/"):
            self._send(302, b"", [("Location", f"/loop/{int(path.rsplit('/', 1)[1]) + 1}")])
        elif path.startswith("/refresh/"):
            n = int(path.rsplit("/", 1)[1]) + 1
            self._send(200, f'<html><head><meta http-equiv="refresh" content="0;url=/refresh/{n}">'
                            "</head><body>moved</body></html>".encode())
        elif path == "/fine.html":
            self._send(200, ARTICLE)
        elif path == "/robots.txt":
            self._send(200, b"User-agent: *\nAllow: /\n", [("Content-Type", "text/plain")])
        else:
            self._send(404, b"not here")

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None) -> None:
        self.send_response(status)
        for name, value in headers or [("Content-Type", "text/html; charset=utf-8")]:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def trap_site() -> Iterator[tuple[str, list[str]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.hits = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", server.hits  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def test_redirect_loops_and_long_urls_are_counted(trap_site: tuple[str, list[str]], tmp_path: Path) -> None:
    url, hits = trap_site
    proc = subprocess.run([*NEWSARCHIVE, "crawl", url, "--out", str(tmp_path), "--render", "never",
                           "--no-sidecars", "--json", "--quiet", "--set", "REDIRECT_MAX_TIMES=5"],
                          capture_output=True, text=True, timeout=300, check=False)
    summary = json.loads(proc.stdout)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert summary["outcome"] == "partial"
    assert summary["failures"] == {"redirects": 2}  # the 302 chain and the meta-refresh chain
    assert summary["refused"] == {"url_length": 1}
    assert sum(p.startswith("/loop/") for p in hits) == 6  # the first request and 5 redirects
    assert not any(p.startswith("/long/") for p in hits)
    assert "/fine.html" in hits
    lines = (tmp_path / "logs" / "crawl.log").read_text().splitlines()
    assert sum(" -4002 " in line for line in lines) == 2
    long_lines = [line for line in lines if " -7 " in line]
    assert len(long_lines) == 1 and "URLLENGTH_LIMIT" in long_lines[0]
    assert len(long_lines[0]) < 600  # the URL is shortened in the log, not written whole


def test_the_summary_names_the_refused_long_links(trap_site: tuple[str, list[str]], tmp_path: Path) -> None:
    url, _ = trap_site
    proc = subprocess.run([*NEWSARCHIVE, "crawl", url, "--out", str(tmp_path), "--render", "never",
                           "--no-sidecars", "--set", "REDIRECT_MAX_TIMES=2"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1
    assert "errors          2 (redirects 2)" in proc.stdout + proc.stderr
    assert "URL too long    1 links not followed" in proc.stdout + proc.stderr
