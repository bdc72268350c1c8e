"""The demo crawl, end to end: every URL archived once, byte-for-byte as served.

One crawl of a fresh demo site (a real server on loopback) by the real
``newsarchive crawl`` command, given only the site's root URL; the tests then
hold the WARC files against what the server says it sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsarchive.capture.check import check_path
from newsarchive.demosite import DemoSite
from tests.plugins.warcs import read_records

pytestmark = pytest.mark.slow  # a crawl of the demo site

VENV_BIN = Path(sys.executable).parent


def sha1(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoSite, Path, dict[str, Any]]]:
    out = tmp_path_factory.mktemp("demo-crawl")
    with DemoSite(articles=60) as site:
        done = subprocess.run(
            [str(VENV_BIN / "newsarchive"), "crawl", site.url, "--out", str(out), "--json",
             "--render", "never"],
            capture_output=True, text=True, timeout=600,
        )
        assert done.returncode == 0, done.stderr
        yield site, out, json.loads(done.stdout)


@pytest.fixture(scope="module")
def records(crawled: tuple[DemoSite, Path, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Response and revisit records by target URI."""
    _, out, _ = crawled
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted((out / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for rec in read_records(fh):
                if rec.rec_type in ("response", "revisit"):
                    found[rec.rec_headers.get_header("WARC-Target-URI")].append({
                        "type": rec.rec_type,
                        "warc": dict(rec.rec_headers.headers),
                        "http": rec.http_headers,
                        "payload": rec.raw_stream.read(),
                    })
    return found


def test_every_served_url_has_one_record_with_the_bytes_sent(crawled, records) -> None:
    site, _, summary = crawled
    pages = [p for p in site.pages() if not p.disallowed]
    assert len([p for p in pages if p.kind == "article"]) >= 50
    for page in pages:
        recs = records.get(page.url)
        assert recs and len(recs) == 1, f"{page.url}: {len(recs or [])} records"
        rec = recs[0]
        sent = site.sent[page.path]
        assert rec["http"].get_statuscode() == str(page.status), page.url
        if rec["type"] == "response":
            assert rec["payload"] == sent, f"{page.url}: payload differs from the bytes sent"
        assert rec["warc"]["WARC-Payload-Digest"] == sha1(sent), page.url
    assert summary["errors"] == 0


def test_gzip_pages_stay_gzip_encoded_and_chunked_ones_say_so(crawled, records) -> None:
    site, _, _ = crawled
    gz = [p for p in site.pages() if p.transfer == "gzip" and p.status == 200]
    chunked = [p for p in site.pages() if p.transfer == "chunked" and p.status == 200]
    assert gz and chunked
    for page in gz:
        rec = records[page.url][0]
        assert rec["http"].get_header("Content-Encoding") == "gzip", page.url
        if rec["type"] == "response":
            assert rec["payload"][:2] == b"\x1f\x8b"
    for page in chunked:
        rec = records[page.url][0]
        assert rec["http"].get_header("Transfer-Encoding") is None
        assert rec["warc"]["WARC-Newsarchive-Transfer-Decoded"] == "chunked"


def test_redirect_hops_404_and_media_are_archived(crawled, records) -> None:
    site, _, _ = crawled
    kinds = {p.kind for p in site.pages()}
    redirects = [p for p in site.pages() if p.status in (301, 302)]
    assert {301, 302} <= {p.status for p in redirects}
    for page in redirects:
        rec = records[page.url][0]
        assert rec["http"].get_header("Location"), page.url
    assert any(p.status == 404 and p.url in records for p in site.pages())
    for media in ("image", "pdf"):
        assert media in kinds
        page = next(p for p in site.pages() if p.kind == media)
        assert records[page.url][0]["payload"] == site.sent[page.path]


def test_robots_disallowed_pages_are_never_requested(crawled) -> None:
    site, _, summary = crawled
    forbidden = [p.path for p in site.pages() if p.disallowed]
    assert forbidden
    seen = {r.path for r in site.requests}
    assert not set(forbidden) & seen
    assert summary["robots_forbidden"] >= 1


def test_found_articles_from_the_root_url_alone(crawled) -> None:
    site, _, summary = crawled
    assert summary["sidecars"] >= len([a for a in site.articles])  - 2
    assert summary["warc_files"]


def test_archive_passes_our_check_warcio_and_cdxj_indexer(crawled) -> None:
    _, out, _ = crawled
    files = sorted(str(p) for p in (out / "warc").glob("*.warc.gz"))
    assert files and not list((out / "warc").glob("*.open"))
    for f in files:
        report = check_path(f)
        assert report.ok, (f, report.errors)
    subprocess.run([str(VENV_BIN / "warcio"), "check", *files], check=True, capture_output=True)
    index = subprocess.run([str(VENV_BIN / "warcio"), "index", *files], check=True,
                           capture_output=True, text=True).stdout
    cdxj = subprocess.run([str(VENV_BIN / "cdxj-indexer"), *files], check=True,
                          capture_output=True, text=True).stdout
    assert index.count("\n") > 100
    assert cdxj.count("\n") > 60


def test_warcinfo_says_who_what_and_how(crawled) -> None:
    _, out, _ = crawled
    first = sorted((out / "warc").glob("*.warc.gz"))[0]
    with open(first, "rb") as fh:
        rec = next(iter(read_records(fh)))
    assert rec.rec_type == "warcinfo"
    fields = rec.content_stream().read().decode()
    for key in ("software: newsarchive/", "hostname:", "robots: obey", "crawl-settings:",
                "format: WARC File Format 1.1"):
        assert key in fields
