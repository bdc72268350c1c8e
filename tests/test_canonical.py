"""One article, one URL: canonical forms, tracking parameters, rel=canonical and og:url."""

from __future__ import annotations

import http.server
import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsarchive.discover.canonical import canonical_url, clean_url, declared_canonical

NEWSARCHIVE = str(Path(sys.executable).with_name("newsarchive"))


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://WWW.Example.COM:80/a/b", "http://www.example.com/a/b"),
        ("https://example.com:443/x", "https://example.com/x"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com/x#comments", "https://example.com/x"),
        ("https://example.com/x?b=2&a=1", "https://example.com/x?a=1&b=2"),
        ("https://example.com/x?id=7&utm_source=rss&utm_medium=feed", "https://example.com/x?id=7"),
        ("https://example.com/x?fbclid=IwAR0&gclid=abc&mc_cid=1&mc_eid=2", "https://example.com/x"),
        ("https://example.com/x?UTM_Campaign=spring&_ga=1.2", "https://example.com/x"),
        ("https://example.com/%7Euser/caf%c3%a9", "https://example.com/~user/caf%C3%A9"),
        ("https://example.com", "https://example.com/"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_clean_url_keeps_what_the_server_may_care_about() -> None:
    # Order and spelling of real parameters stay; only tracking and fragment go.
    assert (
        clean_url("https://Example.com:443/search?q=a+b&utm_source=x&page=2#top")
        == "https://example.com/search?q=a+b&page=2"
    )
    assert clean_url("https://example.com/a?z=1&a=2") == "https://example.com/a?z=1&a=2"


def test_declared_canonical() -> None:
    page = "https://www.example.com/story?id=1&ref=home"
    assert declared_canonical(page, "/news/story-1", None) == "https://www.example.com/news/story-1"
    # rel=canonical wins over og:url; og:url is used when it is the only one.
    assert declared_canonical(page, "/a", "https://www.example.com/b") == "https://www.example.com/a"
    assert declared_canonical(page, None, "https://example.com/b") == "https://example.com/b"
    # Another site's URL (syndication) or junk is not this page's identity.
    assert declared_canonical(page, "https://other.example/x", None) is None
    assert declared_canonical(page, "javascript:void(0)", None) is None


class _Site:
    """A tiny site whose links differ only by tracking parameters and query order."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.home_links = [
            "/story?id=1&utm_source=twitter",
            "/story?utm_medium=social&id=1#comments",
            "/story?id=1",
            "/other?fbclid=IwAR123",
            "/dup?b=2&a=1",
            "/dup?a=1&b=2",
        ]

    def page(self, path: str) -> bytes | None:
        if path == "/":
            links = "".join(f'<a href="{h}">link</a>' for h in self.home_links)
            return f"<html><body>{links}</body></html>".encode()
        if path.startswith("/story"):
            return b'<html><head><link rel="canonical" href="/news/story-1"></head><body>A story</body></html>'
        if path.startswith("/other"):
            return b'<html><head><meta property="og:url" content="/news/other"></head><body>x</body></html>'
        if path.startswith(("/dup", "/news/")):
            return b"<html><body>page</body></html>"
        if path == "/robots.txt":
            return b"User-agent: *\nDisallow:\n"
        return None


@pytest.fixture
def tiny_site() -> Iterator[tuple[str, _Site]]:
    site = _Site()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            site.requests.append(self.path)
            body = site.page(self.path)
            self.send_response(200 if body is not None else 404)
            ctype = "text/plain" if self.path == "/robots.txt" else "text/html; charset=utf-8"
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", site
    finally:
        server.shutdown()
        server.server_close()


def _crawl(url: str, out: Path) -> dict:
    done = subprocess.run(
        [NEWSARCHIVE, "crawl", url, "--out", str(out), "--json", "--depth", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow  # two crawl processes
def test_one_page_one_fetch_and_declared_canonical_is_its_identity(tiny_site, tmp_path: Path) -> None:
    url, site = tiny_site
    out = tmp_path / "out"
    _crawl(url, out)
    pages = [p for p in site.requests if p != "/robots.txt"]
    # Three spellings of the story, one request, without tracking parameters.
    assert pages.count("/story?id=1") == 1
    assert not any("utm_" in p or "fbclid" in p or "#" in p for p in site.requests)
    assert pages.count("/other") == 1
    assert len([p for p in pages if p.startswith("/dup")]) == 1
    db = sqlite3.connect(out / "state" / "crawl.sqlite")
    aliases = dict(db.execute("SELECT alias, url FROM aliases"))
    db.close()
    assert aliases == {url + "story?id=1": url + "news/story-1", url + "other": url + "news/other"}

    # The next run meets a link to the canonical URL itself: the same article, not fetched.
    site.home_links = ["/news/story-1", "/news/other", "/news/new-one"]
    site.requests.clear()
    summary = _crawl(url, out)
    assert "/news/story-1" not in site.requests and "/news/other" not in site.requests
    assert "/news/new-one" in site.requests
    assert summary["skipped"] >= 2


def test_the_fast_path_for_plain_urls_agrees_with_full_canonicalisation() -> None:
    """Plain URLs skip w3lib (issue #19); what they get must be what w3lib gives."""
    from w3lib.url import canonicalize_url

    from newsarchive.discover.canonical import canonical_url, clean_url

    for url in ("http://example.com/", "http://127.0.0.1:8080/a/b-c_d~e.html",
                "https://example.com:443/x", "http://example.com:80/x", "http://a.b/x/./y",
                "http://a.b/x/../y", "http://a.b/.", "http://a.b//two//slashes",
                "http://a.b/x.", "http://a.b:8443/.well-known/z"):
        assert canonical_url(url) == canonicalize_url(clean_url(url), keep_fragments=False), url
