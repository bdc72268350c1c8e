"""`newsarchive replay` in real Chromium: articles, captures, revisits, sidecar pages, isolation."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from newsarchive.collection import Collection
from newsarchive.index.sidecars import iter_sidecars
from tests.plugins.collection import NEWSARCHIVE
from tests.plugins.warcs import read_records

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]


class Replay:
    """A running `newsarchive replay` process and its URLs."""

    def __init__(self, collection: Path) -> None:
        self.proc = subprocess.Popen(
            [*NEWSARCHIVE, "replay", str(collection), "--port", "0", "--admin-port", "0", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "replay did not start"
        self.info: dict[str, Any] = json.loads(line)
        self.name = self.info["collection"]
        parts = urlsplit(self.info["replay"])
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.admin = self.info["sidecars"].rstrip("/")

    def url(self, target: str, ts: str = "", mod: str = "") -> str:
        stamp = f"{ts}{mod}/" if ts or mod else ""
        return f"{self.origin}/{self.name}/{stamp}{target}"

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(20)


@pytest.fixture(scope="module")
def demo_replay(demo_collection: Path) -> Iterator[Replay]:
    replay = Replay(demo_collection)
    yield replay
    assert replay.stop() == 0


@pytest.fixture(scope="module")
def escape_replay(escape_collection: Path) -> Iterator[Replay]:
    replay = Replay(escape_collection)
    yield replay
    assert replay.stop() == 0


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True,
            args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        yield b
        b.close()


def sidecars(collection: Path) -> list[dict[str, Any]]:
    return [s for uri in Collection.open(collection).sidecar_files() for s in iter_sidecars(uri)]


def stamp(sc: dict[str, Any]) -> str:
    return "".join(c for c in sc["capture"]["fetched_at"] if c.isdigit())[:14]


def replay_frame(page: Any) -> Any:
    """pywb's iframe holding the archived page (modifier mp_)."""
    page.wait_for_selector("#replay_iframe")
    for _ in range(100):
        for frame in page.frames:
            if "mp_/" in frame.url:
                return frame
        page.wait_for_timeout(100)
    raise AssertionError("no replay frame")


def pick_articles(collection: Path) -> list[dict[str, Any]]:
    """One article per template family (by ad/related shapes), plus the wire story."""
    chosen: dict[tuple[int, int], dict[str, Any]] = {}
    for sc in sidecars(collection):
        if sc["paragraphs"] and "/20" in sc["url"] or "portal" in sc["url"]:
            chosen.setdefault((len(sc["ads"]) > 2, len(sc["related"])), sc)
    return list(chosen.values())[:4]


def test_articles_replay_with_their_story_text(browser: Any, demo_replay: Replay, demo_collection: Path) -> None:
    page = browser.new_page()
    articles = pick_articles(demo_collection)
    assert len(articles) >= 2
    for sc in articles:
        page.goto(demo_replay.url(sc["url"], stamp(sc)))
        frame = replay_frame(page)
        frame.wait_for_load_state()
        text = " ".join(frame.inner_text("body").split())
        for para in (sc["paragraphs"][0], sc["paragraphs"][-1]):
            assert " ".join(para.split())[:60] in text, sc["url"]
    page.close()


def test_latest_capture_and_capture_list(browser: Any, demo_replay: Replay, demo_collection: Path) -> None:
    sc = pick_articles(demo_collection)[0]
    page = browser.new_page()
    page.goto(demo_replay.url(sc["url"]))  # no timestamp: the latest capture
    assert sc["paragraphs"][0][:40] in replay_frame(page).inner_text("body")
    page.goto(demo_replay.url(sc["url"], "*"))  # the list of captures
    page.wait_for_function("document.body.innerText.includes('capture')", timeout=15000)
    assert "1 capture" in page.inner_text("body")
    page.close()
    with urllib.request.urlopen(f"{demo_replay.origin}/{demo_replay.name}/cdx?output=json&url="
                                + quote(sc["url"], safe="")) as resp:
        rows = [json.loads(line) for line in resp.read().splitlines()]
    assert [r["timestamp"] for r in rows] == [stamp(sc)]


def test_revisit_replays_its_original(escape_replay: Replay, escape_collection: Path) -> None:
    log = (escape_collection / "logs" / "crawl.log").read_text().splitlines()
    copy = archived_url(escape_collection, "/copy/escape.html")
    assert any(copy in line and " revisit " in line for line in log), "should be a revisit"
    with urllib.request.urlopen(escape_replay.url(copy, mod="mp_")) as resp:
        assert "Escape attempts" in resp.read().decode()


def archived_url(collection: Path, path: str) -> str:
    """The archived URL (from crawl.log) whose path is ``path``."""
    for line in (collection / "logs" / "crawl.log").read_text().splitlines():
        if urlsplit(line.split()[3]).path == path:
            return line.split()[3]
    raise AssertionError(f"no {path} in the crawl")


def test_no_request_leaves_the_replay_origin(browser: Any, escape_replay: Replay, demo_replay: Replay,
                                             escape_collection: Path, demo_collection: Path) -> None:
    context = browser.new_context()
    seen: list[str] = []
    context.on("request", lambda req: seen.append(req.url))
    page = context.new_page()
    targets = [escape_replay.url(archived_url(escape_collection, "/escape.html"))]
    targets += [demo_replay.url(sc["url"], stamp(sc)) for sc in pick_articles(demo_collection)]
    for target in targets:
        page.goto(target)
        frame = replay_frame(page)
        frame.wait_for_load_state("load")
        page.wait_for_timeout(800)  # let timers and late scripts try
    # the escape page's scripts did run (and were contained)
    page.goto(targets[0])
    replay_frame(page).wait_for_function("document.getElementById('status').textContent === 'tried'")
    origins = {escape_replay.origin, demo_replay.origin}
    outside = [u for u in seen if not u.startswith(("data:", "blob:", "about:"))
               and f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" not in origins]
    assert len(seen) > 20
    assert outside == []
    context.close()


def test_sidecar_page_shows_story_ads_related_and_highlights(browser: Any, demo_replay: Replay,
                                                             demo_collection: Path) -> None:
    sc = next(s for s in pick_articles(demo_collection) if s["ads"] and s["related"])
    page = browser.new_page()
    page.goto(f"{demo_replay.admin}/_sidecar/{demo_replay.name}/{stamp(sc)}/{sc['url']}")
    assert urlsplit(page.url).port != urlsplit(demo_replay.origin).port  # its own origin
    assert page.inner_text("#title") == sc["title"]
    assert sc["paragraphs"][1][:50] in page.inner_text("#story")
    assert page.locator("#ads li").count() == len(sc["ads"])
    assert page.locator("#related li").count() == len(sc["related"])
    page.wait_for_function("document.getElementById('found').textContent.includes('outlined')",
                           timeout=20000)
    found = page.inner_text("#found")
    assert f"of {len(sc['ads'])} ads" in found and " 0 of" not in found.split("ads")[0]
    page.locator("#ads button").first.click()
    inner = next(f for f in page.frames if "mp_/" in f.url)
    inner.wait_for_selector("[data-na-mark='ad:0']", timeout=10000)
    assert inner.locator("[data-na-mark^='related:']").count() >= 1
    # archived code cannot reach the sidecar page: it is another origin
    assert inner.evaluate("() => { try { return window.top.document.title; } catch (e) { return 'blocked'; } }") == "blocked"
    page.close()


def test_record_link_downloads_the_warc_record(demo_replay: Replay, demo_collection: Path) -> None:
    sc = pick_articles(demo_collection)[0]
    url = f"{demo_replay.admin}/_record/{demo_replay.name}/{stamp(sc)}/{sc['url']}"
    with urllib.request.urlopen(url) as resp:
        assert resp.headers["Content-Type"] == "application/warc"
        record = next(iter(read_records(io.BytesIO(resp.read()))))
    assert record.rec_headers.get_header("WARC-Target-URI") == sc["url"]
    assert record.rec_headers.get_header("WARC-Record-ID") == sc["capture"]["record_id"]
