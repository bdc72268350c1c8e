"""The HTML crawl report: written by every crawl, opened offline in real Chromium.

A demo crawl writes ``reports/RUN.html``; Chromium opens it as a file URL with
every request other than the file itself refused: nothing may be requested,
no script error may occur, the charts must be drawn, and the headline numbers
must equal the crawl's ``--json`` summary and the catalog. A screenshot is
kept in ``tests/artifacts/report.png`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsarchive.collection import Collection
from newsarchive.index.query import connect
from tests.plugins.collection import NEWSARCHIVE, crawl

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--host-resolver-rules=MAP * ~NOTFOUND"]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A demo crawl (with a 404 and a robots.txt refusal) and its --json summary."""
    from newsarchive.demosite import DemoSite

    out = tmp_path_factory.mktemp("report") / "demo"
    with DemoSite(articles=12) as site:
        summary = crawl(site.url, out, "--depth", "3")
    return out, summary


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                               args=CHROMIUM_ARGS)
        yield b
        b.close()


def catalog_counts(out: Path, warcs: list[str]) -> dict[str, int]:
    names = ", ".join("'" + Path(w).name + "'" for w in warcs)
    row = connect([Collection.open(out)]).execute(
        "SELECT count(*) FILTER (record_type = 'response'), count(*) FILTER (record_type = 'revisit'),"
        f" count(*) FILTER (is_article) FROM catalog WHERE warc_filename IN ({names})"
        " AND url NOT LIKE 'urn:%'"
    ).fetchone()
    return {"responses": row[0], "revisits": row[1], "articles": row[2]}


@pytest.mark.slow
@pytest.mark.browser
def test_crawl_report_opens_offline_with_charts_and_the_summary_numbers(
    crawled: tuple[Path, dict[str, Any]], browser: Any
) -> None:
    out, summary = crawled
    report = Path(str(summary["report"]))
    assert report.is_file() and report.parent == out / "reports"
    # The summary is kept beside it, so the report can be rebuilt later.
    kept = json.loads(report.with_suffix(".json").read_text())
    assert kept["pages"] == summary["pages"] and kept["status"] == "finished"

    context = browser.new_context(viewport={"width": 1366, "height": 800})
    requests: list[str] = []

    def gate(route: Any) -> None:  # the report file may load; anything else is refused
        requests.append(route.request.url)
        route.continue_() if route.request.url == report.as_uri() else route.abort()

    context.route("**/*", gate)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    assert requests == [report.as_uri()]  # the file itself, and nothing else
    assert errors == []

    # Charts drawn: inline SVGs with marks in them.
    drawn = page.eval_on_selector_all(
        "figure.chart svg", "svgs => svgs.filter(s => s.querySelectorAll('path').length > 2"
        " && s.getBoundingClientRect().width > 100).length")
    assert drawn >= 4

    def number(key: str) -> float:
        return float(page.inner_text(f"dd[data-key='{key}']"))

    for key in ("pages", "errors"):
        assert number(key) == summary[key], key
    counts = catalog_counts(out, list(summary["warc_files"]))
    assert counts["responses"] == summary["responses"] and counts["revisits"] == summary["revisits"]
    assert number("responses") == counts["responses"]
    assert number("revisits") == counts["revisits"]
    assert number("captures") == counts["responses"] + counts["revisits"]
    assert number("articles") == counts["articles"] == summary["sidecars"]
    assert number("sidecars") == summary["sidecars"]
    assert number("robots_forbidden") == summary["robots_forbidden"] >= 1
    assert number("warc_files") == len(summary["warc_files"])
    # The demo site's withdrawn story answers 404: listed among the failures.
    assert "withdrawn-story" in page.inner_text("#failures")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    page.emulate_media(media="print")  # and it lays out for print without errors
    assert page.eval_on_selector_all("figure.chart svg", "s => s.length") >= 4
    context.close()


@pytest.mark.slow
def test_report_verb_rebuilds_a_run_and_refuses_an_unknown_one(
    crawled: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    out, summary = crawled
    target = tmp_path / "again.html"
    done = subprocess.run([*NEWSARCHIVE, "report", str(out), "--run", str(summary["run_id"]),
                           "--out", str(target)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(target)
    text = target.read_text()
    assert f"data-key='pages'>{summary['pages']}<" in text
    # Self-contained: no script, no linked file (the browser test shows nothing is requested).
    assert "<script" not in text and " src=" not in text and "<link" not in text
    bad = subprocess.run([*NEWSARCHIVE, "report", str(out), "--run", "19990101T000000Z"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0
    assert "no run '19990101T000000Z'" in bad.stderr and "Traceback" not in bad.stderr
