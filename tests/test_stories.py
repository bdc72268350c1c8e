"""One wire story on three sites, edited, among 15 unrelated stories: story clusters end to end.

Three real HTTP servers on 127.0.0.1 serve news sites; site A runs the wire
story as sent, site B with its last paragraph cut, site C with a contributor
line and a correction added. Each site also has five stories of its own
(written by the demo site's generator, so they share its vocabulary and
style). The sites are crawled into one collection, as a user would.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import newsarchive
from newsarchive.demosite.content import Article, writer
from newsarchive.index.stories import StoryIndex
from tests.plugins.collection import NEWSARCHIVE

CONTRIBUTOR = "Associated Press writer Mari Tamm in Tallinn contributed to this report."
CORRECTION = ("This story has been corrected to show that the vote took place on Tuesday, "
              "not Monday, and that the figures cited came from the ministry.")


def page(article: Article, paragraphs: list[str], lang: bool) -> bytes:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    html_lang = ' lang="en"' if lang else ""
    return (f"<!doctype html><html{html_lang}><head><meta charset='utf-8'>"
            f"<title>{escape(article.title)}</title>"
            f"<meta property='article:published_time' content='{article.published}'>"
            f"</head><body><nav><a href='/'>Home</a></nav><article><h1>{escape(article.title)}</h1>"
            f"<p class='byline'>By {escape(', '.join(article.authors))}</p>{body}</article>"
            "<footer>Copyright the site</footer></body></html>").encode()


def serve(pages: dict[str, bytes]) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = pages.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def site_pages(stories: list[tuple[Article, list[str]]], lang: bool) -> dict[str, bytes]:
    pages = {a.path: page(a, paras, lang) for a, paras in stories}
    links = "".join(f"<h3><a href='{a.path}'>{escape(a.title)}</a></h3>" for a, _ in stories)
    pages["/"] = ("<html><head><title>News</title><meta property='og:type' content='website'>"
                  f"</head><body><h1>News</h1>{links}</body></html>").encode()
    pages["/robots.txt"] = b"User-agent: *\nAllow: /\n"
    return pages


@pytest.fixture(scope="module")
def three_sites() -> Iterator[dict[str, Any]]:
    articles = writer(40).articles(16)
    wire = next(a for a in articles if len(a.paragraphs) >= 6)
    others = [a for a in articles if a is not wire][:15]
    versions = {
        "A": list(wire.paragraphs),
        "B": list(wire.paragraphs[:-1]),
        "C": [*wire.paragraphs, CONTRIBUTOR, CORRECTION],
    }
    servers, sites = [], {}
    for n, name in enumerate("ABC"):
        own = [(a, list(a.paragraphs)) for a in others[5 * n: 5 * n + 5]]
        server, base = serve(site_pages([(wire, versions[name]), *own], lang=name != "B"))
        servers.append(server)
        sites[name] = {"base": base, "wire": base + wire.path,
                       "own": [base + a.path for a, _ in own], "server": server}
    try:
        yield {"sites": sites, "wire": wire, "versions": versions}
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def crawl(url: str, out: Path, *extra: str) -> None:
    result = subprocess.run([*NEWSARCHIVE, "crawl", url, "--out", str(out), "--json", *extra],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def export(coll: Path, *args: str) -> list[dict[str, Any]]:
    result = subprocess.run([*NEWSARCHIVE, "export", str(coll), "--quiet", *args],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def collection(three_sites: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stories") / "syndication"
    for name in "ABC":
        crawl(three_sites["sites"][name]["base"] + "/", out)
    return out


@pytest.mark.slow
def test_dedupe_stories_gives_one_row_per_story_with_the_other_urls(
        three_sites: dict[str, Any], collection: Path) -> None:
    sites = three_sites["sites"]
    everything = export(collection, "--fields", "url,story_id")
    assert len(everything) == 18
    rows = export(collection, "--dedupe-stories", "--fields", "url,story_id,also_at,captured")
    assert len(rows) == 16
    by_url = {r["url"]: r for r in rows}
    wire = by_url[sites["A"]["wire"]]  # earliest capture: site A was crawled first
    assert sorted(a["url"] for a in wire["also_at"]) == sorted([sites["B"]["wire"],
                                                               sites["C"]["wire"]])
    assert all(len(a["captured"]) == 1 and a["captured"][0] > wire["captured"]
               for a in wire["also_at"])
    own = [u for s in sites.values() for u in s["own"]]
    assert sorted(u for u in by_url if u != sites["A"]["wire"]) == sorted(own)
    assert all(by_url[u]["also_at"] == [] for u in own)  # unrelated stories never merge
    latest = export(collection, "--dedupe-stories", "--prefer", "latest", "--fields", "url,also_at")
    chosen = next(r for r in latest if r["url"] in {s["wire"] for s in sites.values()})
    assert chosen["url"] == sites["C"]["wire"]
    assert sites["C"]["wire"] not in [a["url"] for a in chosen["also_at"]]


@pytest.mark.slow
def test_stories_view_and_verb_show_the_versions_and_their_edits(
        three_sites: dict[str, Any], collection: Path) -> None:
    sites, wire = three_sites["sites"], three_sites["wire"]
    rows = export(collection, "--stories", "--fields", "url,story_id,versions")
    assert len(rows) == 16
    story = next(r for r in rows if r["url"] == sites["A"]["wire"])
    assert [v["url"] for v in story["versions"]] == [sites[n]["wire"] for n in "ABC"]
    result = subprocess.run([*NEWSARCHIVE, "stories", str(collection), "--json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    clusters = json.loads(result.stdout)
    assert len(clusters) == 1 and clusters[0]["story_id"] == story["story_id"]
    cut, extended = clusters[0]["versions"][1], clusters[0]["versions"][2]
    assert cut["added"] == [] and cut["removed"] == [wire.paragraphs[-1]]
    assert cut["url"] == sites["B"]["wire"]
    assert extended["removed"] == []
    assert CORRECTION in extended["added"]
    text = subprocess.run([*NEWSARCHIVE, "stories", str(collection)], capture_output=True,
                          text=True, timeout=300).stdout
    assert "3 URLs" in text and "      - " in text and "      + " in text


@pytest.mark.slow
def test_latest_is_one_row_per_url_after_a_recrawl(three_sites: dict[str, Any], collection: Path,
                                                   tmp_path: Path) -> None:
    import shutil

    coll = tmp_path / "syndication"
    shutil.copytree(collection, coll)
    crawl(three_sites["sites"]["A"]["base"] + "/", coll, "--recrawl")
    every = export(coll, "--fields", "url,captured")
    latest = export(coll, "--latest", "--fields", "url,captured")
    urls = {r["url"] for r in every}
    assert len(every) > len(urls) == 18
    assert len(latest) == len(urls)
    newest = {}
    for r in every:
        newest[r["url"]] = max(newest.get(r["url"], ""), r["captured"])
    assert {r["url"]: r["captured"] for r in latest} == newest
    # re-captured copies join their stories: still one row per story
    assert len(export(coll, "--dedupe-stories", "--fields", "url")) == 16
    api = newsarchive.open(coll)
    assert api.articles(latest=True).num_rows == len(latest)
    assert api.articles().num_rows == len(every)


@pytest.mark.slow
def test_languages_are_detected_and_dates_are_timestamps(collection: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.parquet"
    result = subprocess.run([*NEWSARCHIVE, "export", str(collection), "--format", "parquet",
                             "--out", str(out), "--quiet"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    assert str(table.schema.field("published").type) == "timestamp[us, tz=UTC]"
    rows = table.select(["url", "language", "language_declared", "published"]).to_pylist()
    assert all(r["language"] == "en" for r in rows)  # site B declares none: detected
    assert {r["language_declared"] for r in rows} == {"en", None}
    assert all(r["published"] is not None for r in rows)


def test_story_index_joins_versions_and_keeps_unrelated_apart(tmp_path: Path) -> None:
    articles = writer(40).articles(12)
    with StoryIndex(tmp_path / "s.sqlite") as index:
        ids = [index.assign(f"r{n}", "\n\n".join(a.paragraphs)) for n, a in enumerate(articles)]
        assert len(set(ids)) == len(ids)
        base = articles[0].paragraphs
        assert index.assign("cut", "\n\n".join(base[:-1])) == ids[0]
        assert index.assign("added", "\n\n".join([*base, CONTRIBUTOR, CORRECTION])) == ids[0]
        assert index.assign("r3", "anything") == ids[3]  # idempotent per record
        assert index.assign("empty", "  ") is None
    with StoryIndex(tmp_path / "s.sqlite") as again:  # kept on disk for the next crawl
        assert again.assign("copy", "\n\n".join(articles[5].paragraphs)) == ids[5]


def test_a_story_index_built_with_datasketch_keeps_its_stories(tmp_path: Path) -> None:
    """Collections indexed when the signatures and bands came from datasketch's MinHash
    and MinHashLSH: new versions must join the stories kept there, so the values made
    here are datasketch's, bit for bit."""
    import zlib

    import numpy as np
    from datasketch import MinHash, MinHashLSH

    from newsarchive.index import stories

    lsh = MinHashLSH(threshold=stories.THRESHOLD, num_perm=stories.NUM_PERM)
    assert stories.bands() == (lsh.b, lsh.r)
    for (threshold, num_perm), known in stories.KNOWN_BANDS.items():
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        assert known == (lsh.b, lsh.r)
    texts = ["", "!!", "one", "two words", "Ünïcode ﬁne text, again and again", CORRECTION,
             *("\n\n".join(a.paragraphs) for a in writer(7).articles(20))]
    for text in texts:
        theirs = MinHash(num_perm=stories.NUM_PERM, seed=stories.SEED, scheme=stories.SCHEME,
                         hashfunc=zlib.crc32)
        if grams := stories.shingles(text):
            theirs.update_batch(list(grams))
        ours = stories.signature(text)
        assert ours.dtype == np.uint32
        assert np.array_equal(ours, theirs.hashvalues.astype(np.uint32)), text[:40]
