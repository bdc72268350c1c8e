"""The revisit policy: which known URLs a re-run fetches, decided from the crawl state."""

from __future__ import annotations

from pathlib import Path

from newsarchive.discover.revisit import RevisitPolicy, UrlRecord
from newsarchive.discover.state import CrawlState

HOUR = 3600.0
DAY = 86400.0
NOW = 1_800_000_000.0
POLICY = RevisitPolicy(article_max_age=2 * DAY, article_every=6 * HOUR, page_every=HOUR, embed_every=None)


def record(kind: str, fetched_ago: float, *, age: float = 0.0, status: int = 200, **kw) -> UrlRecord:
    return UrlRecord(url="https://n.example/x", kind=kind, first_seen=NOW - age,
                     last_fetched=NOW - fetched_ago, last_status=status, **kw)


def decide(kind: str, rec: UrlRecord | None, lastmod: str | None = None) -> tuple[bool, str]:
    d = POLICY.decide(kind, rec, NOW, lastmod)
    return d.fetch, d.reason


def test_new_urls_and_discovery_pages_are_always_fetched() -> None:
    assert decide("article", None) == (True, "new")
    for kind in ("robots", "sitemap", "feed", "front"):
        assert decide(kind, record(kind, 60)) == (True, kind)


def test_young_articles_are_rechecked_on_their_interval_old_ones_never() -> None:
    assert decide("article", record("article", 2 * HOUR, age=3 * HOUR)) == (False, "recent")
    assert decide("article", record("article", 7 * HOUR, age=10 * HOUR)) == (True, "due")
    assert decide("article", record("article", 7 * HOUR, age=3 * DAY)) == (False, "old")
    # The publication date from a news sitemap beats "first seen".
    published = "2027-01-15T08:00:00Z"  # 1_800_000_000 is 2027-01-15T08:00Z
    assert decide("article", record("article", 7 * HOUR, age=5 * DAY, published=published)) == (True, "due")


def test_sitemap_lastmod_past_the_stored_one_forces_a_fetch() -> None:
    rec = record("article", HOUR, age=30 * DAY, lastmod="2026-01-01T00:00:00Z")
    assert decide("article", rec, "2026-01-01T00:00:00Z") == (False, "old")
    assert decide("article", rec, "2026-01-02T09:30:00+00:00") == (True, "lastmod")


def test_failures_are_retried_embeds_follow_their_own_rule() -> None:
    assert decide("article", record("article", 60, age=30 * DAY, status=503)) == (True, "retry")
    assert decide("page", record("page", 60, status=429)) == (True, "retry")
    assert decide("page", record("page", 2 * HOUR)) == (True, "due")
    assert decide("embed", record("embed", 30 * DAY)) == (False, "never")


def test_state_records_changes_and_aliases(tmp_path: Path) -> None:
    state = CrawlState(tmp_path / "crawl.sqlite")
    first = state.record_fetch("https://n.example/a?id=1", kind="page", now=NOW, status=200, digest="sha1:A")
    same = state.record_fetch("https://n.example/a?id=1", kind="page", now=NOW + 1, status=200, digest="sha1:A")
    changed = state.record_fetch("https://n.example/a?id=1", kind="page", now=NOW + 2, status=200, digest="sha1:B")
    assert (first.new, same.new, same.changed, changed.changed) == (True, False, False, True)
    state.add_alias("https://n.example/a?id=1", "https://n.example/story")
    assert state.resolve("https://n.example/a?id=1") == "https://n.example/story"
    copy = state.get("https://n.example/story")
    assert copy is not None and copy.digest == "sha1:B" and copy.fetches == 3
    state.close()
    reopened = CrawlState(tmp_path / "crawl.sqlite")  # committed on close
    assert len(reopened) == 2
    reopened.close()
