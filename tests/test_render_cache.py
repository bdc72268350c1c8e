"""The browser cache is on in rendered tabs, and the archive still holds only
what came off the network: a cache hit is not archived a second time, a
revalidation is a server-not-modified revisit or nothing new, never a fetch
that did not happen (real Chromium, a real server on loopback)."""

from __future__ import annotations

import asyncio
import http.server
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from newsarchive.digests import sha1_digest
from newsarchive.fetch.exchange import Exchange
from newsarchive.fetch.render import recorder
from newsarchive.fetch.render.config import RenderConfig
from newsarchive.fetch.render.page import RenderedPage, render
from newsarchive.fetch.render.pool import BrowserPool
from newsarchive.fetch.render.recorder import FROM_CACHE_HEADER, CacheRule
from tests.plugins.collection import replay_latest
from tests.plugins.render import leftover, run_tagged, serve_handler
from tests.plugins.warcs import read_records

CSS = b"body { color: #123456 }"
SCRIPT = b"document.title = 'ran';"
ETAG = '"v1"'
PAGES = 4  # article pages the crawl test's index links to


def _page(n: str) -> bytes:
    return (b'<html><head><link rel="icon" href="data:,"><link rel="stylesheet" href="/site.css">'
            b'<script src="/app.js"></script></head><body><p>story ' + n.encode() + b"</p></body></html>")


@pytest.fixture
def site() -> Iterator[tuple[str, list[tuple[str, int]]]]:
    """Pages ``/p/N.html``; ``/site.css`` fresh for 600 s; ``/app.js`` revalidated on every use (ETag).

    Yields the base URL and the log of (path, status sent) the server answered.
    """
    log: list[tuple[str, int]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            headers: dict[str, str] = {}
            if self.path == "/site.css":
                body, ctype, headers = CSS, "text/css", {"Cache-Control": "max-age=600"}
            elif self.path == "/app.js":
                body, ctype = SCRIPT, "application/javascript"
                headers = {"Cache-Control": "no-cache", "ETag": ETAG}
                if self.headers.get("If-None-Match") == ETAG:
                    log.append((self.path, 304))
                    self.send_response(304)
                    self.send_header("ETag", ETAG)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            elif self.path.startswith("/p/"):
                body, ctype = _page(self.path), "text/html"
            elif self.path == "/":
                body = b"<html><body>" + b"".join(
                    b'<a href="/p/%d.html">story %d</a>' % (n, n) for n in range(PAGES)) + b"</body></html>"
                ctype = "text/html"
            else:
                body, ctype = b"", "text/plain"
            log.append((self.path, 200 if body else 404))
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    with serve_handler(Handler) as url:
        yield url, log


def _sink(archived: list[Exchange]):  # type: ignore[no-untyped-def]
    def sink(exchange: Exchange) -> Exchange:  # what the sink returns is the page's document
        archived.append(exchange)
        return exchange
    return sink


async def _render(pool: BrowserPool, config: RenderConfig, url: str, archived: list[Exchange],
                  *, hold: bool = False) -> RenderedPage:
    async with pool.tab() as lease:
        page = await render(lease.recorder, url, sink=_sink(archived), idle_ms=config.idle_ms,
                            timeout=config.timeout)
        assert page.document is not None and page.document.url == url  # the document's own record
        return page


def _served(log: list[tuple[str, int]], path: str) -> list[int]:
    return [status for p, status in log if p == path]


@pytest.mark.slow  # Chromium
def test_one_tab_archives_what_the_server_sent_and_no_cache_hit(site: tuple[str, list[tuple[str, int]]]) -> None:
    base, log = site
    config = RenderConfig(mode="always", max_pages=1)
    archived: list[Exchange] = []

    async def run() -> list[RenderedPage]:
        pool = BrowserPool(config)
        try:
            return [await _render(pool, config, f"{base}/p/{n}.html", archived) for n in range(3)]
        finally:
            await pool.close()

    pages = asyncio.run(run())
    # The stylesheet came off the network once, and is archived once, as sent.
    assert _served(log, "/site.css") == [200]
    css = [e for e in archived if e.url == f"{base}/site.css"]
    assert [(e.status, e.body) for e in css] == [(200, CSS)]
    assert FROM_CACHE_HEADER not in css[0].warc_headers
    # The later pages used the cached copy: counted, not archived again.
    assert [p.cached for p in pages][1:] == [1, 1]
    # The script was revalidated on each later page: each 304 is archived as the
    # 304 it was, pointing at the digest of the copy the browser kept.
    script = [e for e in archived if e.url == f"{base}/app.js"]
    assert _served(log, "/app.js") == [200, 304, 304]
    assert [(e.status, e.body) for e in script] == [(200, SCRIPT), (304, b""), (304, b"")]
    assert [e.not_modified_digest for e in script[1:]] == [sha1_digest(SCRIPT)] * 2
    assert all(any(n.lower() == b"if-none-match" for n, _ in e.request_headers) for e in script[1:])
    # Every document is its own fetch, and every page ran its script.
    assert [e.url for e in archived if "/p/" in e.url] == [f"{base}/p/{n}.html" for n in range(3)]
    assert all("story" in p.dom for p in pages)


@pytest.mark.slow  # Chromium
def test_a_second_tab_of_the_context_adds_no_copy_of_what_its_cache_holds(
    site: tuple[str, list[tuple[str, int]]],
) -> None:
    """Two tabs (two renderers) share the context's HTTP cache: the network stack's own
    revalidation shows as a 200 to a conditional request, and is not archived as a fetch."""
    base, log = site
    config = RenderConfig(mode="always", max_pages=2)
    archived: list[Exchange] = []

    async def run() -> None:
        pool = BrowserPool(config)
        try:
            async with pool.tab() as first, pool.tab() as second:
                assert first.page is not second.page
                for n, lease in enumerate((first, second)):
                    page = await render(lease.recorder, f"{base}/p/{n}.html", sink=_sink(archived),
                                        idle_ms=config.idle_ms, timeout=config.timeout)
                    assert page.document is not None
        finally:
            await pool.close()

    asyncio.run(run())
    assert _served(log, "/site.css") == [200]
    assert [e.body for e in archived if e.url == f"{base}/site.css"] == [CSS]
    # app.js: fetched, then revalidated by the network stack (304 on the wire, which
    # Playwright reports as a 200 with the cached body): archived as the 304 it was.
    assert _served(log, "/app.js") == [200, 304]
    script = [e for e in archived if e.url == f"{base}/app.js"]
    assert [(e.status, e.body, e.not_modified_digest) for e in script] == [
        (200, SCRIPT, None), (304, b"", sha1_digest(SCRIPT))]
    assert script[1].reason == "Not Modified"


def _sent(*names: str) -> list[tuple[bytes, bytes]]:
    return [(n.encode(), b"x") for n in ("Accept", *names)]


def test_cache_rule() -> None:
    earlier = sha1_digest(SCRIPT)
    # No Host: the network stack sent nothing. Left out when the context archived the URL...
    hit = CacheRule(_sent(), 200, earlier)
    assert hit.from_cache and hit.held and hit.bodiless
    # ...but not the page's own document, nor a copy the context never archived.
    assert not CacheRule(_sent(), 200, earlier, document=True).held
    unseen = CacheRule(_sent(), 200, None)
    assert unseen.from_cache and not unseen.held and not unseen.bodiless
    # On the wire (Host, or HTTP/2's :authority): archived, with its body.
    fetched = CacheRule(_sent(":authority"), 200, earlier)
    assert not fetched.from_cache and not fetched.held and not fetched.bodiless
    assert not fetched.conditional
    # A 304 has no body to read; a conditional request's 200 may be the cache's copy.
    assert CacheRule(_sent("Host", "If-None-Match"), 304, earlier).bodiless
    assert CacheRule(_sent("Host", "If-Modified-Since"), 200, None).conditional


def test_repeated_headers_joined_by_chromium_are_split() -> None:
    assert recorder._pairs([{"name": "Set-Cookie", "value": "a=1\nb=2"}, {"name": "X", "value": "y"}]) == [
        (b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"b=2"), (b"X", b"y")]


def test_what_the_tab_loads_between_two_pages_is_no_longer_known_as_archived() -> None:
    rec = recorder.PageRecorder(page=None, archived={"u": "sha1:A", "v": "sha1:B"})  # type: ignore[arg-type]
    rec._on_finished(SimpleNamespace(url="u"))  # type: ignore[arg-type]  # no page being recorded
    assert rec.archived == {"v": "sha1:B"}


def test_a_context_remembers_a_bounded_number_of_captures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder, "REMEMBERED", 3)
    archived: dict[str, str] = {}
    for url in "abc":
        recorder.remember(archived, url, url.upper())
    recorder.remember(archived, "a", "A2")  # used again: the most recent
    recorder.remember(archived, "d", "D")  # one too many: the least recently used goes
    assert archived == {"c": "C", "a": "A2", "d": "D"}


@pytest.mark.slow  # Chromium
def test_a_rendered_crawl_archives_each_revalidation_as_a_server_not_modified_revisit(
    site: tuple[str, list[tuple[str, int]]], tmp_path: Path,
) -> None:
    base, log = site
    result, tag = run_tagged(
        [sys.executable, "-m", "newsarchive", "crawl", base + "/", "--out", str(tmp_path),
         "--render", "always", "--no-sidecars", "--json", "--quiet"],  # two tabs: both kinds of 304
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert leftover(tag) == []
    records: dict[str, list[tuple[str, dict[str, str]]]] = {}  # URL -> (HTTP status, WARC headers)
    for path in sorted((tmp_path / "warc").glob("*.warc.gz")):
        with open(path, "rb") as f:
            for rec in read_records(f):
                if rec.rec_type in ("response", "revisit"):
                    records.setdefault(rec.rec_headers.get_header("WARC-Target-URI"), []).append(
                        (rec.http_headers.get_statuscode(), dict(rec.rec_headers.headers)))
    assert len([p for p, _ in log if p.startswith("/p/")]) == PAGES  # every page rendered
    # Only what came off the network: the stylesheet once (the browser's cache
    # answered the later pages; the spider does not fetch what a rendered page
    # loaded), the script once and then the 304s to its revalidations...
    assert _served(log, "/site.css") == [200]
    assert _served(log, "/app.js") == [200] + [304] * (PAGES - 1)
    # ...and as many records of each as answers the server sent. (Two tabs may take
    # a copy from the cache before the fetch that put it there is recorded: that
    # copy is archived too, but says it came from the browser's cache.)
    paths = {path for path, _ in log if path.startswith(("/p/", "/site.css", "/app.js"))}
    fetched = {path: [(status, head) for status, head in records[base + path]
                      if FROM_CACHE_HEADER not in head] for path in paths}
    assert {path: len(recs) for path, recs in fetched.items()} == {
        path: len(_served(log, path)) for path in paths}
    # One full copy of the script, and a record of each 304: a server-not-modified
    # revisit of that copy (a 304 answered to the second tab while the copy was still
    # being recorded stays the plain 304 response it was).
    script = fetched["/app.js"]
    full = [head for status, head in script if head["WARC-Type"] == "response" and status == "200"]
    assert len(full) == 1
    not_modified = [head for status, head in script if status == "304"]
    assert len(not_modified) == PAGES - 1
    revisits = [head for head in not_modified if head["WARC-Type"] == "revisit"]
    assert len(revisits) >= PAGES - 2
    for head in revisits:
        assert head["WARC-Profile"].endswith("/revisit/server-not-modified")
        assert head["WARC-Refers-To-Target-URI"] == f"{base}/app.js"
        assert head["WARC-Refers-To"] == full[0]["WARC-Record-ID"]
        assert head["WARC-Payload-Digest"] == full[0]["WARC-Payload-Digest"]
    # Replay (pywb) resolves the latest capture of the script, a 304's revisit, to its bytes.
    assert max((head for _, head in script), key=lambda head: head["WARC-Date"]) in revisits
    assert "'ran'" in replay_latest(tmp_path, f"{base}/app.js")
