"""The replay's article list in real Chromium: search by a word of the text, sort by date,
readable dates, links to the replayed page, the sidecar page and the captures, and
thumbnails of the screenshots a ``--render auto --screenshots`` crawl archived."""

from __future__ import annotations

import gzip
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsarchive.demosite.clientside import NAME, use_clientside
from newsarchive.demosite.server import DemoSite
from newsarchive.replay.articles import date_key
from tests.plugins.render import run_tagged
from tests.test_replay_browser import CHROMIUM_ARGS, Replay

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo site with some client-rendered articles, crawled with screenshots."""
    use_clientside(1)
    try:
        site = DemoSite(articles=10).start()
    finally:
        use_clientside(0)
    out = tmp_path_factory.mktemp("replay-index") / "news"
    try:
        result, _tag = run_tagged(
            [sys.executable, "-m", "newsarchive", "crawl", site.url, "--out", str(out),
             "--render", "auto", "--screenshots", "--json", "--no-report"], timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        rendered = {site.urljoin(a.path) for a in site.articles if a.template == NAME}
    finally:
        site.stop()
    sidecars = [json.loads(line) for p in sorted((out / "sidecars").glob("*.gz"))
                for line in gzip.open(p, "rt", encoding="utf-8")]
    assert rendered and len(sidecars) >= 8
    return {"out": out, "sidecars": sidecars, "rendered": rendered}


@pytest.fixture(scope="module")
def replay(crawled: dict[str, Any]) -> Iterator[Replay]:
    running = Replay(crawled["out"])
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="module")
def page(replay: Replay) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True,
            args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        tab = browser.new_page()
        yield tab
        browser.close()


def sort_key(sc: dict[str, Any]) -> str:
    """The publication date, else the capture time: what the list sorts by."""
    fetched = "".join(c for c in sc["capture"]["fetched_at"] if c.isdigit())[:14]
    return date_key(sc.get("published"), fetched)


def listed(page: Any) -> list[str]:
    return page.eval_on_selector_all("li.article", "els => els.map(e => e.dataset.url)")


def searchable(sc: dict[str, Any]) -> str:
    return " ".join([sc.get("title") or "", sc.get("text") or "", sc.get("publisher") or "",
                     " ".join(sc.get("authors") or [])]).lower()


def test_search_finds_an_article_by_a_word_of_its_text(
    page: Any, replay: Replay, crawled: dict[str, Any]
) -> None:
    sidecars = crawled["sidecars"]
    counts = Counter(w for sc in sidecars for w in set(re.findall(r"[a-z]{7,}", searchable(sc))))
    target = next(sc for sc in sidecars
                  if any(counts[w] == 1 for w in re.findall(r"[a-z]{7,}", (sc["text"] or "").lower())))
    word = next(w for w in re.findall(r"[a-z]{7,}", target["text"].lower()) if counts[w] == 1)
    expected = {sc["url"] for sc in sidecars
                if re.search(rf"\b{word}", searchable(sc))}
    assert target["url"] in expected
    page.goto(replay.admin + "/")
    assert len(listed(page)) == len(sidecars)
    page.fill("input[name=q]", word.upper())  # case does not matter
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"q="))
    assert set(listed(page)) == expected
    assert f"matching “{word.upper()}”" in page.inner_text("#found")
    page.fill("input[name=q]", "zzzqqqxxv")
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"q=zzzqqqxxv"))
    assert listed(page) == [] and page.inner_text("#found").startswith("0 articles")


def test_sorted_by_date_with_readable_dates(
    page: Any, replay: Replay, crawled: dict[str, Any]
) -> None:
    sidecars = crawled["sidecars"]
    keyed = sorted(sidecars, key=lambda sc: (sort_key(sc), sc["url"]))
    assert len({sort_key(sc) for sc in sidecars}) > 3
    page.goto(replay.admin + "/")
    page.select_option("select[name=sort]", "published-asc")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"sort=published-asc"))
    assert listed(page) == [sc["url"] for sc in keyed]
    page.select_option("select[name=sort]", "published-desc")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"sort=published-desc"))
    newest = listed(page)
    assert [sort_key(next(sc for sc in sidecars if sc["url"] == url)) for url in newest] == \
        sorted((sort_key(sc) for sc in sidecars), reverse=True)
    text = page.inner_text("ol.articles")
    assert not re.search(r"\b\d{14}\b", text)  # no raw WARC timestamps
    assert re.search(r"published \d{1,2} [A-Z][a-z]{2} \d{4}", text)
    assert re.search(r"captured \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d UTC", text)


def test_entries_link_to_replay_sidecar_and_captures(
    page: Any, replay: Replay, crawled: dict[str, Any]
) -> None:
    sc = crawled["sidecars"][0]
    page.goto(replay.admin + "/")
    entry = page.locator(f"li.article[data-url='{sc['url']}']")
    replay_href = entry.locator("a.replay").get_attribute("href")
    assert re.fullmatch(rf"{re.escape(replay.origin)}/{replay.name}/\d{{14}}/{re.escape(sc['url'])}",
                        replay_href or "")
    assert entry.locator("a.captures").get_attribute("href") == \
        f"{replay.origin}/{replay.name}/*/{sc['url']}"
    entry.locator("a.sidecar").click()
    page.wait_for_selector("#title")
    assert page.inner_text("#title") == sc["title"]


def test_thumbnails_of_rendered_pages_screenshots(
    page: Any, replay: Replay, crawled: dict[str, Any]
) -> None:
    page.goto(replay.admin + "/?sort=title")
    shown = page.eval_on_selector_all(
        "li.article", "els => els.map(e => [e.dataset.url, !!e.querySelector('img.thumb')])")
    with_thumb = {url for url, has in shown if has}
    assert with_thumb == crawled["rendered"]
    page.wait_for_function(
        "[...document.querySelectorAll('img.thumb')].every(i => i.complete && i.naturalWidth > 0)",
        timeout=30000)
    width = page.eval_on_selector("img.thumb", "i => i.naturalWidth")
    assert width >= 1000  # the full-page screenshot, scaled down by the page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "replay-index.png"), full_page=True)
