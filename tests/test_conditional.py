"""Conditional re-checks: an unchanged page costs a ``304`` and becomes a revisit record.

Two real crawls of a demo site of our own into one collection; the second
re-checks everything (``--recrawl``). The server's request log says what was
asked and answered; warcio reads what was written; ``newsarchive replay``
(pywb) and ``query`` (the catalog) must still give the page.
"""

from __future__ import annotations

import json
import subprocess
import sys
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from newsarchive.demosite.server import not_modified
from tests.plugins.collection import replay_latest
from tests.plugins.warcs import read_records

BIN = str(Path(sys.executable).with_name("newsarchive"))
SERVER_NOT_MODIFIED = "/revisit/server-not-modified"


def crawl(site: Any, out: Path, *extra: str) -> dict[str, Any]:
    site.reset_log()
    done = subprocess.run(
        [BIN, "crawl", site.url, "--out", str(out), "--json", "--render", "never", *extra],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def records(names: list[str]) -> list[Any]:
    out = []
    for name in names:
        with open(name, "rb") as fh:
            out += [r for r in read_records(fh) if r.rec_type in ("response", "revisit")]
    return out


def test_demo_site_honours_both_validators() -> None:
    etag, modified = '"abc"', "Sat, 14 Mar 2026 10:00:00 GMT"
    headers = Message()
    assert not not_modified(headers, etag, modified)
    headers["If-Modified-Since"] = "Sat, 14 Mar 2026 10:00:00 GMT"
    assert not_modified(headers, etag, modified)
    headers.replace_header("If-Modified-Since", "Sat, 14 Mar 2026 09:59:59 GMT")
    assert not not_modified(headers, etag, modified)
    headers["If-None-Match"] = '"other", "abc"'  # decides when present
    assert not_modified(headers, etag, modified)


@pytest.mark.slow
def test_recheck_of_unchanged_page_is_a_304_and_a_revisit(
    make_demo_site: Any, tmp_path: Path
) -> None:
    site = make_demo_site(articles=8)
    out = tmp_path / "coll"
    first = crawl(site, out)
    originals = {r.rec_headers.get_header("WARC-Target-URI"): r
                 for r in records(first["warc_files"]) if r.rec_type == "response"}
    articles = {a.path for a in site.articles}

    crawl(site, out, "--recrawl")
    second = site.requests
    crawl_two = [r for r in second if r.path in articles]
    assert {r.path for r in crawl_two} == articles
    for seen in crawl_two:  # asked with the validators of the capture, answered 304
        assert seen.header("If-None-Match") and seen.header("If-Modified-Since"), seen
        assert seen.status == 304, seen
    # Fronts are parsed for links every run: never conditional.
    assert all(r.header("If-None-Match") is None for r in second if r.path == "/")

    summary = json.loads((sorted((out / "reports").glob("*.json"))[-1]).read_text())
    later = [r for r in records(summary["warc_files"])
             if urlsplit(r.rec_headers.get_header("WARC-Target-URI")).path in articles]
    assert len(later) == len(articles)
    for rec in later:
        h = rec.rec_headers
        uri = h.get_header("WARC-Target-URI")
        original = originals[uri].rec_headers
        assert rec.rec_type == "revisit"
        assert h.get_header("WARC-Profile").endswith(SERVER_NOT_MODIFIED)
        assert rec.http_headers.get_statuscode() == "304"
        assert h.get_header("WARC-Refers-To-Target-URI") == uri
        assert h.get_header("WARC-Refers-To-Date") == original.get_header("WARC-Date")
        assert h.get_header("WARC-Refers-To") == original.get_header("WARC-Record-ID")
        assert h.get_header("WARC-Payload-Digest") == original.get_header("WARC-Payload-Digest")
    # Counted as unchanged, not as new or changed pages.
    assert summary.get("new_articles", 0) == 0

    # A third re-check is conditional again (the 304 kept the validators).
    crawl(site, out, "--recrawl")
    assert all(r.status == 304 for r in site.requests if r.path in articles)

    # The index and the replay still give the page.
    url = site.urljoin(sorted(articles)[0])
    query = subprocess.run(
        [BIN, "query", f"SELECT count(*) AS n FROM catalog WHERE url = '{url}'", str(out),
         "--json"], capture_output=True, text=True, timeout=120)
    assert query.returncode == 0, query.stderr
    assert json.loads(query.stdout) == [{"n": 3}]  # the capture and its two revisits
    title = site.article(url).title
    assert title in replay_latest(out, url)



def test_state_keeps_validators_and_older_databases_gain_them(tmp_path: Path) -> None:
    import sqlite3

    from newsarchive.discover.state import CrawlState

    path = tmp_path / "crawl.sqlite"
    old = sqlite3.connect(path)  # the table as versions before conditional re-checks made it
    old.execute("CREATE TABLE urls (url TEXT PRIMARY KEY, kind TEXT NOT NULL, first_seen REAL"
                " NOT NULL, last_fetched REAL, last_status INTEGER, digest TEXT, last_changed"
                " REAL, lastmod TEXT, published TEXT, fetches INTEGER NOT NULL DEFAULT 0,"
                " fetched_url TEXT)")
    old.execute("INSERT INTO urls (url, kind, first_seen, last_fetched, last_status, digest)"
                " VALUES ('http://a.example/x', 'article', 1, 1, 200, 'sha1:A')")
    old.commit()
    old.close()
    state = CrawlState(path)
    known = state.get("http://a.example/x")
    assert known is not None and known.etag is None and known.digest == "sha1:A"
    state.record_fetch("http://a.example/x", kind="article", now=2, status=200, digest="sha1:A",
                       etag='"v1"', last_modified="Sat, 14 Mar 2026 10:00:00 GMT")
    result = state.record_fetch("http://a.example/x", kind="article", now=3, status=304,
                                digest=None)  # a 304 without validators keeps them
    assert not result.changed and not result.new
    after = state.get("http://a.example/x")
    assert after is not None
    assert (after.etag, after.last_modified, after.digest, after.last_status) == (
        '"v1"', "Sat, 14 Mar 2026 10:00:00 GMT", "sha1:A", 304)
    state.record_fetch("http://a.example/x", kind="article", now=4, status=200, digest="sha1:B")
    changed = state.get("http://a.example/x")
    assert changed is not None and changed.etag is None  # a 200 without them clears them
    state.close()
