"""A re-crawl does not read the unchanged child sitemaps of a sitemap index (issue #19:
its cost follows what changed, not the size of the site's archive), and does read one
whose ``<lastmod>`` moved. Real ``newsarchive crawl`` processes against the demo site."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import newsarchive.demosite.site as demo_model
from newsarchive.demosite.server import DemoSite

pytestmark = pytest.mark.slow  # three crawl processes

NEWSARCHIVE = str(Path(sys.executable).with_name("newsarchive"))
PAGE_1, PAGE_2, PAGE_3, PAGE_4 = (demo_model.article_sitemap_path(n) for n in range(1, 5))


def crawl(site: DemoSite, out: Path) -> tuple[dict, Counter]:
    site.reset_log()
    done = subprocess.run([NEWSARCHIVE, "crawl", site.url, "--out", str(out), "--json",
                           "--depth", "1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), Counter(r.path for r in site.requests)


@pytest.fixture
def paged_site(make_demo_site, monkeypatch: pytest.MonkeyPatch) -> DemoSite:
    # 25 articles in sitemaps of 10: two full pages and a third holding 5
    monkeypatch.setattr(demo_model, "SITEMAP_PAGE_SIZE", 10)
    site: DemoSite = make_demo_site(articles=25)
    return site


def test_unchanged_child_sitemaps_are_not_fetched_and_changed_ones_are(
        paged_site: DemoSite, tmp_path: Path) -> None:
    out = tmp_path / "collection"
    first, seen = crawl(paged_site, out)
    assert {PAGE_1, PAGE_2, PAGE_3} <= set(seen)
    assert first["new_articles"] >= 25

    again, seen = crawl(paged_site, out)
    assert "/sitemap.xml" in seen and "/news-sitemap.xml" in seen  # the index is read
    assert not {PAGE_1, PAGE_2, PAGE_3} & set(seen)
    assert again["new_articles"] == 0

    paged_site.set_day(2)  # 10 new articles: page 3 fills up, page 4 begins
    new = {a.path for a in paged_site.articles[25:]}
    day2, seen = crawl(paged_site, out)
    assert {PAGE_3, PAGE_4} <= set(seen)
    assert not {PAGE_1, PAGE_2} & set(seen)
    assert new <= set(seen)
    assert day2["new_articles"] == len(new)
