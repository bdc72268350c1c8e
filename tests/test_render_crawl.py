"""``RENDER_MODE=auto`` on the demo site: client-rendered articles are rendered and
fully archived, static pages are not rendered (one crawl, real Chromium)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from newsarchive.demosite.clientside import NAME, use_clientside
from newsarchive.demosite.server import DemoSite
from tests.plugins.render import leftover, run_tagged
from tests.plugins.warcs import read_records

pytestmark = pytest.mark.slow  # rendered crawls in Chromium

CHECK_SIDECAR = Path(__file__).resolve().parent / "tools" / "check_sidecar.py"
ARTICLES = 12  # 3 of them client-rendered (one in four)


def is_browser(request: Any) -> bool:
    return "HeadlessChrome" in (request.header("User-Agent") or "")


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Any:
    use_clientside(1)
    try:
        site = DemoSite(articles=ARTICLES).start()
    finally:
        use_clientside(0)  # later sites in this session are the usual ones
    out = tmp_path_factory.mktemp("render-auto")
    result, tag = run_tagged(
        [sys.executable, "-m", "newsarchive", "crawl", site.url, "--out", str(out),
         "--render", "auto", "--json"],
        timeout=240,
    )
    site.stop()
    assert result.returncode == 0, result.stderr[-2000:]
    records = []
    for path in sorted((out / "warc").glob("*.warc.gz")):
        with open(path, "rb") as f:
            for rec in read_records(f):
                records.append((rec.rec_type, rec.rec_headers, rec.content_stream().read()))
    sidecars = [json.loads(line) for p in sorted((out / "sidecars").glob("*.gz"))
                for line in gzip.open(p, "rt", encoding="utf-8")]
    return {"site": site, "out": out, "records": records, "sidecars": sidecars,
            "tag": tag, "summary": json.loads(result.stdout)}


def clientside_urls(site: DemoSite) -> set[str]:
    return {site.urljoin(a.path) for a in site.articles if a.template == NAME}


def test_client_rendered_articles_get_sidecars_from_the_rendered_dom(
    crawl: Any, tmp_path: Path
) -> None:
    site = crawl["site"]
    by_url = {s["url"]: s for s in crawl["sidecars"]}
    wanted = clientside_urls(site)
    assert len(wanted) == 3
    for url in sorted(wanted):
        sidecar = by_url[url]
        assert sidecar["capture"]["rendered"] is True
        got, exp = tmp_path / "got.json", tmp_path / "exp.json"
        got.write_text(json.dumps(sidecar), encoding="utf-8")
        exp.write_text(json.dumps(site.expected_sidecar(url)), encoding="utf-8")
        check = subprocess.run([sys.executable, str(CHECK_SIDECAR), str(exp), str(got)],
                               capture_output=True, text=True)
        assert check.returncode == 0, f"{url}\n{check.stdout}"
    static = [s for s in crawl["sidecars"] if s["url"] not in wanted]
    assert static and not any((s["capture"] or {}).get("rendered") for s in static)


def test_static_pages_are_not_rendered(crawl: Any) -> None:
    site = crawl["site"]
    browser_pages = {
        site.urljoin(r.path) for r in site.requests
        if is_browser(r) and r.path.endswith(".html") or is_browser(r) and r.path == "/"
    }
    assert browser_pages == clientside_urls(crawl["site"])


def test_every_url_the_browser_requested_is_in_the_warc(crawl: Any) -> None:
    site = crawl["site"]
    asked = {site.urljoin(r.path) for r in site.requests if is_browser(r)}
    assert any("/api/story/" in u for u in asked) and any("story-app.js" in u for u in asked)
    archived = {h.get_header("WARC-Target-URI") for t, h, _ in crawl["records"]
                if t in ("response", "revisit")}
    assert asked - archived == set()


def test_rendered_dom_is_a_resource_record_beside_the_page_response(crawl: Any) -> None:
    ids = {h.get_header("WARC-Record-ID"): h.get_header("WARC-Target-URI")
           for t, h, _ in crawl["records"] if t in ("response", "revisit")}
    doms = {h.get_header("WARC-Target-URI"): (h, body) for t, h, body in crawl["records"]
            if t == "resource"}
    for url in clientside_urls(crawl["site"]):
        head, body = doms[f"urn:dom:{url}"]
        assert head.get_header("Content-Type").startswith("text/html")
        assert ids[head.get_header("WARC-Concurrent-To")] == url
        assert b'data-rendered="true"' in body  # the script ran before the DOM was taken


def test_no_chromium_left_after_the_crawl(crawl: Any) -> None:
    assert leftover(crawl["tag"]) == []
