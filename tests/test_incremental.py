"""Incremental re-crawls of the demo site into one collection, as a schedule would run them.

One demo site and one collection go through four crawls (each a real
``newsarchive crawl SITE.yaml --out DIR --json`` process):

1. day 1, first crawl: everything;
2. day 1 again, nothing changed: only fronts, feeds, sitemaps, robots.txt are
   fetched, and they become ``revisit`` records;
3. day 2 (ten new articles): the new articles plus what is always fetched;
4. day 2 with a policy that re-checks every article: unchanged articles are
   fetched and written as revisits, not as second copies.

The server's request log says what was fetched; warcio reads what was written.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsarchive.demosite.server import DemoSite
from tests.plugins.warcs import read_records

pytestmark = pytest.mark.slow  # four crawl processes

NEWSARCHIVE = str(Path(sys.executable).with_name("newsarchive"))
ARTICLE = re.compile(r"/\d{4}/\d{2}/\d{2}/")
SECTIONS = ("/world/", "/business/", "/science/")
# Fetched on every run: how new articles are found.
ALWAYS = {"/robots.txt", "/", *SECTIONS, "/sitemap.xml", "/sitemap-articles.xml",
          "/sitemap-sections.xml", "/news-sitemap.xml", "/feed.xml", "/atom.xml"}


@dataclass
class Run:
    """One crawl: its summary, the paths the server saw, the records it wrote."""

    summary: dict
    requests: Counter
    records: list[tuple[str, str]]  # (WARC-Type, path) of response/revisit records


def site_file(folder: Path, url: str, revisit: str = "") -> Path:
    path = folder / ("demo-revisit.yaml" if revisit else "demo.yaml")
    path.write_text(
        "name: demo\n"
        f"start_urls: [{url}]\n"
        f"sections: [{', '.join(SECTIONS)}]\n"
        "article_patterns: ['/\\d{4}/\\d{2}/\\d{2}/']\n"
        "depth: 2\n" + revisit
    )
    return path


def crawl(site: DemoSite, site_path: Path, out: Path) -> Run:
    site.reset_log()
    done = subprocess.run(
        [NEWSARCHIVE, "crawl", str(site_path), "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    requests = Counter(r.path for r in site.requests)
    records = []
    for name in summary["warc_files"]:
        with open(name, "rb") as fh:
            for rec in read_records(fh):
                if rec.rec_type in ("response", "revisit"):
                    uri = rec.rec_headers.get_header("WARC-Target-URI")
                    records.append((rec.rec_type, uri[len(site.base_url):]))
    return Run(summary, requests, records)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("incremental")
    out = tmp / "collection"
    with DemoSite(articles=24) as site:
        path = site_file(tmp, site.url)
        runs = {"day1": crawl(site, path, out), "day1-again": crawl(site, path, out)}
        day1_articles = {a.path for a in site.articles}
        site.set_day(2)
        new_articles = {a.path for a in site.articles} - day1_articles
        runs["day2"] = crawl(site, path, out)
        recheck = site_file(
            tmp, site.url, "revisit:\n  articles_younger_than: forever\n  articles_every: always\n"
        )
        runs["day2-recheck"] = crawl(site, recheck, out)
        disallowed = {p.path for p in site.pages() if p.disallowed}
    return {"runs": runs, "new": new_articles, "old": day1_articles, "out": out,
            "disallowed": disallowed, "home": site.url}


def test_first_crawl_fetches_the_site_and_never_a_disallowed_page(history) -> None:
    day1 = history["runs"]["day1"]
    assert history["old"] <= set(day1.requests)  # every article
    assert history["disallowed"], "the demo site should have a robots-disallowed page"
    for path in history["disallowed"]:
        assert path not in day1.requests
    assert day1.summary["robots_forbidden"] >= 1
    assert day1.summary["new_articles"] == len(history["old"])
    # No URL fetched twice, whatever tracking parameters or fragments links carried
    # (robots.txt: once by Scrapy's robots middleware, once read by the spider).
    twice = {p: n for p, n in day1.requests.items() if n > 1 and p != "/robots.txt"}
    assert twice == {}


def test_unchanged_site_writes_no_second_copy(history) -> None:
    again = history["runs"]["day1-again"]
    fetched = set(again.requests)
    assert fetched <= ALWAYS, f"known pages fetched again: {sorted(fetched - ALWAYS)}"
    assert not fetched & history["old"]
    assert again.summary["new_articles"] == 0
    assert again.summary["skipped"] > len(history["old"])
    # What was fetched again is identical: revisit records only, no full response.
    types = Counter(t for t, _ in again.records)
    assert types["response"] == 0, [p for t, p in again.records if t == "response"]
    assert types["revisit"] >= len(ALWAYS) - 1


def test_day_two_fetches_only_new_articles_and_fronts(history) -> None:
    day1, day2 = history["runs"]["day1"], history["runs"]["day2"]
    new = history["new"]
    assert len(new) == 10
    fetched = set(day2.requests)
    assert new <= fetched
    assert all(day2.requests[p] == 1 for p in new)
    assert not fetched & history["old"], "a day-1 article was fetched again"
    # Everything else fetched is a front/feed/sitemap, or something day 1 never saw.
    assert fetched - new - ALWAYS <= fetched - set(day1.requests)
    assert day2.summary["new_articles"] == len(new)
    # The new articles are full responses; unchanged robots.txt is a revisit.
    written = {p: t for t, p in day2.records}
    assert all(written[p] == "response" for p in new)
    assert written["/robots.txt"] == "revisit"
    assert written["/"] == "response"  # the home page lists the new articles


def test_rechecked_unchanged_articles_become_revisits(history) -> None:
    run = history["runs"]["day2-recheck"]
    articles = history["old"] | history["new"]
    assert articles <= set(run.requests)
    written = {p: t for t, p in run.records if ARTICLE.search(p)}
    unchanged = {p for p, t in written.items() if t == "revisit"}
    changed = {p for p, t in written.items() if t == "response"}
    assert unchanged, "no article was written as a revisit"
    # Only an article whose page changed on day 2 (rotating ads) may be a new copy.
    assert len(changed) < len(written) / 2
    assert run.summary["new_articles"] == 0


def test_crawl_state_remembers_each_url(history) -> None:
    db = sqlite3.connect(history["out"] / "state" / "crawl.sqlite")
    rows = {
        url: (kind, fetches, digest)
        for url, kind, fetches, digest in db.execute("SELECT url, kind, fetches, digest FROM urls")
    }
    db.close()
    assert rows[history["home"]][:2] == ("front", 4)  # fetched on each of the 4 runs
    articles = {u: r for u, r in rows.items() if ARTICLE.search(u) and r[0] == "article"}
    assert len(articles) >= len(history["old"]) + len(history["new"])
    assert all(r[2].startswith("sha1:") for r in articles.values())
