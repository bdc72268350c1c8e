"""``--render always`` on the demo site (gzip, chunked and redirected pages among
them): every page renders and is archived as the server sent it (one crawl,
real Chromium)."""

from __future__ import annotations

import gzip
import json
import sys
from typing import Any

import pytest

from newsarchive.demosite.server import DemoSite
from tests.plugins.render import leftover, run_tagged
from tests.plugins.warcs import read_records

ARTICLES = 16

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Any:
    site = DemoSite(articles=ARTICLES).start()
    out = tmp_path_factory.mktemp("render-always")
    try:
        result, tag = run_tagged(
            [sys.executable, "-m", "newsarchive", "crawl", site.url, "--out", str(out),
             "--render", "always", "--json", "--quiet"],
            timeout=300,
        )
    finally:
        site.stop()
    assert result.returncode == 0, result.stderr[-2000:]
    records = []
    for path in sorted((out / "warc").glob("*.warc.gz")):
        with open(path, "rb") as f:
            for rec in read_records(f):
                body = rec.raw_stream.read() if rec.rec_type == "response" else b""  # as stored
                records.append((rec.rec_type, rec.rec_headers, rec.http_headers, body))
    sidecars = [json.loads(line) for p in sorted((out / "sidecars").glob("*.gz"))
                for line in gzip.open(p, "rt", encoding="utf-8")]
    return {"site": site, "out": out, "records": records, "sidecars": sidecars, "tag": tag,
            "summary": json.loads(result.stdout), "log": (out / "logs" / "scrapy.log").read_text()}


def test_every_article_is_rendered_into_a_sidecar(crawl: Any) -> None:
    site = crawl["site"]
    wanted = {site.urljoin(a.path) for a in site.articles}
    got = {s["url"] for s in crawl["sidecars"] if (s.get("capture") or {}).get("rendered")}
    assert wanted - got == set()
    # gzip-served pages among them: their links were followed (every article was reached)
    assert any(r.transfer == "gzip" for r in site.model.routes.values())


def test_no_traceback_and_no_error(crawl: Any) -> None:
    assert "Traceback" not in crawl["log"]
    assert crawl["summary"]["errors"] == 0


def test_no_304_from_the_browser_cache(crawl: Any) -> None:
    statuses = [h.get_statuscode() for t, _, h, _ in crawl["records"] if t == "response"]
    assert statuses and "304" not in statuses


def test_record_headers_describe_the_stored_body(crawl: Any) -> None:
    redirects = 0
    for kind, warc, http, body in crawl["records"]:
        if kind != "response":
            continue
        length = http.get_header("Content-Length")
        if length is not None:
            assert int(length) == len(body), warc.get_header("WARC-Target-URI")
        if http.get_statuscode().startswith("3"):
            redirects += 1
        if http.get_header("Content-Encoding"):  # still encoded: it must decode
            assert http.get_header("Content-Encoding") == "gzip"
            gzip.decompress(body)
    assert redirects  # the demo site's redirects were archived


def test_no_chromium_left(crawl: Any) -> None:
    assert leftover(crawl["tag"]) == []
