"""Crawled collections for index, replay and export tests: one crawl per session.

``demo_collection``: the bundled demo news site crawled once per test session
(as a user would: ``newsarchive crawl URL --out DIR --json`` in a subprocess)
into a temporary folder; returns the folder. Tests must not modify it; copy
it (``copy_collection``) first.

``escape_collection``: a three-page site whose pages try every way out to the
live web (fetch, XHR, image, script, iframe, WebSocket, beacon, CSS), for the
replay isolation test.
"""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEWSARCHIVE = [str(ROOT / ".venv" / "bin" / "newsarchive")]
if not Path(NEWSARCHIVE[0]).exists():  # pragma: no cover - a venv elsewhere
    NEWSARCHIVE = [sys.executable, "-m", "newsarchive"]

DEMO_ARTICLES = 24

#: outside URLs the escape page tries to reach; none may be requested
OUTSIDE = "https://tracker.example.com"

ESCAPE_PAGE = f"""<!doctype html><html><head><meta charset="utf-8">
<title>Escape attempts</title>
<link rel="stylesheet" href="{OUTSIDE}/style.css">
<script src="{OUTSIDE}/lib.js"></script>
<style>body{{background:url({OUTSIDE}/bg.png)}}</style></head>
<body><article><h1>Escape attempts</h1>
<p>This archived page tries to call home from the replay.</p>
<img src="{OUTSIDE}/pixel.gif" alt="">
<iframe src="{OUTSIDE}/frame.html"></iframe>
<p id="status">waiting</p></article>
<script>
  var tries = [];
  tries.push(fetch("{OUTSIDE}/fetch?x=1").catch(function(){{}}));
  try {{ var x = new XMLHttpRequest(); x.open("GET", "{OUTSIDE}/xhr"); x.send(); }} catch (e) {{}}
  var i = new Image(); i.src = "http://beacon.example.org/img.gif";
  try {{ new WebSocket("wss://socket.example.com/ws"); }} catch (e) {{}}
  try {{ navigator.sendBeacon("{OUTSIDE}/beacon", "x"); }} catch (e) {{}}
  var s = document.createElement("script"); s.src = "//cdn.example.net/late.js";
  document.head.appendChild(s);
  setTimeout(function(){{ document.getElementById("status").textContent = "tried"; }}, 300);
</script></body></html>
"""

ESCAPE_SITE = {
    "/": b"<html><body><a href='/escape.html'>escape</a> <a href='/copy/escape.html'>copy</a></body></html>",
    "/escape.html": ESCAPE_PAGE.encode(),
    # the same bytes again: archived as a revisit record of /escape.html
    "/copy/escape.html": ESCAPE_PAGE.encode(),
    "/robots.txt": b"User-agent: *\nAllow: /\n",
}


def crawl(url: str, out: Path, *extra: str) -> dict[str, object]:
    """Run ``newsarchive crawl URL --out OUT --json`` and return its summary."""
    proc = subprocess.run(
        [*NEWSARCHIVE, "crawl", url, "--out", str(out), "--json", *extra],
        capture_output=True, text=True, timeout=300, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"crawl failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def replay_latest(location: str | Path, url: str, *extra: str) -> str:
    """Serve a collection with ``newsarchive replay`` and fetch the latest capture of ``url``."""
    proc = subprocess.Popen(
        [*NEWSARCHIVE, "replay", str(location), *extra, "--port", "0", "--admin-port", "0",
         "--json"], stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        with urllib.request.urlopen(f"{info['replay']}mp_/{url}", timeout=60) as resp:
            return resp.read().decode("utf-8", "replace")  # type: ignore[no-any-return]
    finally:
        proc.terminate()
        assert proc.wait(15) == 0


def copy_collection(source: Path, dest: Path) -> Path:
    """A private copy of a session collection, to modify in a test."""
    shutil.copytree(source, dest)
    return dest


@pytest.fixture(scope="session")
def demo_collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo site crawled once per session: a collection folder (do not modify)."""
    from newsarchive.demosite import DemoSite

    out = tmp_path_factory.mktemp("collections") / "demo"
    with DemoSite(articles=DEMO_ARTICLES) as site:
        crawl(site.url, out, "--depth", "3")
    return out


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = ESCAPE_SITE.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain" if self.path.endswith(".txt") else "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def escape_collection(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A crawl of a tiny site whose page tries to reach outside hosts."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        out = tmp_path_factory.mktemp("collections") / "escape"
        crawl(f"http://127.0.0.1:{server.server_port}/", out)
    finally:
        server.shutdown()
        server.server_close()
    yield out
