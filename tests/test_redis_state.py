"""The Redis crawl state answers as the SQLite one does: the sitemap's batched
lookups, validators for conditional re-checks kept across a 304, aliases."""

from __future__ import annotations

from pathlib import Path

from scrapy.settings import Settings

from newsarchive.discover.redis_state import open_crawl_state
from newsarchive.discover.state import CrawlState


def _both(redis_url: str, tmp_path: Path) -> list:
    settings = Settings({"FRONTIER_URL": redis_url, "FRONTIER_SITE": "example.org"})
    return [open_crawl_state(settings), CrawlState(tmp_path / "crawl.sqlite")]


def test_redis_state_answers_like_the_sqlite_one(redis_url: str, tmp_path: Path) -> None:
    answers = []
    for state in _both(redis_url, tmp_path):
        state.record_fetch("http://x/a", kind="article", now=100.0, status=200, digest="d1",
                           etag='"v1"', last_modified="Mon, 30 Nov 2026 10:00:00 GMT")
        state.record_fetch("http://x/b", kind="page", now=100.0, status=200, digest="d2")
        state.add_alias("http://x/a?utm=1", "http://x/a")
        state.commit()
        # a 304 keeps the validators; a 200 without them clears them
        state.record_fetch("http://x/a", kind="article", now=200.0, status=304, digest=None)
        state.record_fetch("http://x/b", kind="page", now=200.0, status=200, digest="d3")
        state.commit()
        many = state.get_many(["http://x/a", "http://x/b", "http://x/c"])
        a = many["http://x/a"]
        answers.append((
            sorted(many), a.etag, a.last_modified, a.digest, a.fetches, many["http://x/b"].etag,
            state.resolve_many(["http://x/a?utm=1", "http://x/c"]), state.resolve("http://x/a?utm=1"),
        ))
        state.close()
    redis_answer, sqlite_answer = answers
    assert redis_answer == sqlite_answer
    assert redis_answer[:5] == (["http://x/a", "http://x/b"], '"v1"', "Mon, 30 Nov 2026 10:00:00 GMT", "d1", 2)
