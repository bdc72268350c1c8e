"""When to fetch a URL the collection already holds: the revisit policy.

A news site is re-crawled often (hourly, say) but most of it does not change:
an article is edited in its first hours or days, then never again; images and
stylesheets almost never. So each request carries a *kind* (set by the spider)
and the policy decides, from what the crawl state remembers of the URL:

* ``robots``, ``sitemap``, ``feed``, ``front`` (start pages and section
  fronts): fetched on every run -- they are how new articles are found;
* ``article``: fetched when new; re-checked while younger than
  ``article_max_age`` (from its publication date when a sitemap or feed gave
  one, else from when it was first seen), at most every ``article_every``;
  at once when the sitemap's ``lastmod`` moved past what was stored;
* ``page`` (other HTML pages: tags, authors, unlisted sections): every
  ``page_every``;
* ``embed`` (images, stylesheets, scripts): every ``embed_every``.

Durations are seconds; ``None`` means never, ``0`` means on every run. A URL
whose last fetch failed (no answer, or a 5xx/429) is always tried again.

Pure functions of (record, now): no I/O, so the policy is tested with made-up
records and times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ALWAYS_KINDS = frozenset({"robots", "sitemap", "feed", "front"})
KINDS = ALWAYS_KINDS | {"article", "page", "embed"}


@dataclass(frozen=True)
class UrlRecord:
    """What the crawl state remembers of one canonical URL (times: Unix seconds)."""

    url: str
    kind: str
    first_seen: float
    last_fetched: float | None = None
    last_status: int | None = None
    digest: str | None = None
    last_changed: float | None = None
    lastmod: str | None = None
    published: str | None = None
    fetches: int = 0
    etag: str | None = None  # validators of the last 200 answer (conditional re-checks)
    last_modified: str | None = None


@dataclass(frozen=True)
class Decision:
    """Fetch or not, and why (the reason becomes a stats key: ``state/fetch/new``)."""

    fetch: bool
    reason: str


def parse_time(value: str | None) -> float | None:
    """A sitemap/feed date (W3C datetime or RFC 822) as Unix seconds, or ``None``."""
    if not value:
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _failed(status: int | None) -> bool:
    return status is None or status >= 500 or status == 429


@dataclass(frozen=True)
class RevisitPolicy:
    """The per-site revisit policy (see the module docstring)."""

    article_max_age: float | None = 2 * 86400
    article_every: float | None = 6 * 3600
    page_every: float | None = 3600
    embed_every: float | None = 86400

    @classmethod
    def from_settings(cls, settings: Any) -> RevisitPolicy:
        """From ``STATE_REVISIT_*`` settings, where a negative number means never."""

        def seconds(name: str) -> float | None:
            value = settings.getfloat(name)
            return None if value < 0 else value

        return cls(
            article_max_age=seconds("STATE_REVISIT_ARTICLE_MAX_AGE"),
            article_every=seconds("STATE_REVISIT_ARTICLE_EVERY"),
            page_every=seconds("STATE_REVISIT_PAGE_EVERY"),
            embed_every=seconds("STATE_REVISIT_EMBED_EVERY"),
        )

    def decide(
        self, kind: str, record: UrlRecord | None, now: float, lastmod: str | None = None
    ) -> Decision:
        """Whether a request for a URL of ``kind`` should go out at ``now``."""
        if record is None or record.last_fetched is None:
            return Decision(True, "new")
        if kind in ALWAYS_KINDS:
            return Decision(True, kind)
        if _failed(record.last_status):
            return Decision(True, "retry")
        announced = parse_time(lastmod)
        if announced is not None:
            known = parse_time(record.lastmod)
            if announced > (known if known is not None else record.last_fetched):
                return Decision(True, "lastmod")
        if kind == "article":
            born = parse_time(record.published)
            if born is None:
                born = record.first_seen
            if self.article_max_age is not None and now - born > self.article_max_age:
                return Decision(False, "old")
            return self._every(self.article_every, record, now)
        if kind == "embed":
            return self._every(self.embed_every, record, now)
        return self._every(self.page_every, record, now)

    @staticmethod
    def _every(interval: float | None, record: UrlRecord, now: float) -> Decision:
        if interval is None:
            return Decision(False, "never")
        assert record.last_fetched is not None
        if now - record.last_fetched >= interval:
            return Decision(True, "due")
        return Decision(False, "recent")
