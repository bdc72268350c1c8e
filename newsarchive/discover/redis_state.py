"""The crawl state and the dedup index in Redis, shared by every worker of a frontier.

The crawl state has the interface of :class:`~newsarchive.discover.state.CrawlState`
(the dedup index, :mod:`newsarchive.capture.redis_dedup`, that of
:class:`~newsarchive.capture.dedup.DigestIndex`), so the incremental
middlewares and the WARC writer use them unchanged; ``crawl --frontier``
picks them. Revisit
decisions are then exact whichever worker fetches a URL, and an incremental
run of N workers fetches what one worker would.

The same durability rule as the SQLite state: a URL's row must never be in
Redis before the WARC record it describes is on disk, and, as workers die and
others go on, not long after: each fetch is written by
:meth:`RedisCrawlState.commit` right after :attr:`before_commit` (the crawl
flushes the WARC writer there), so a killed worker loses only the rows of the
records it had not written (SQLite batches 200: a lost row there costs one
refetch by the same process; here another worker's next run would archive
the page again). A digest is added to the dedup
index by the writer thread right after its record is flushed, as in SQLite.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import astuple, replace
from typing import TYPE_CHECKING, Any

from newsarchive.discover.revisit import UrlRecord
from newsarchive.discover.state import FetchResult
from newsarchive.exceptions import StorageError

if TYPE_CHECKING:
    import redis

    from newsarchive.discover.frontier_keys import FrontierKeys


RECENT = 1024  # rows this worker wrote last, kept to read back without a round trip


def _record(raw: bytes | str | None) -> UrlRecord | None:
    return UrlRecord(*json.loads(raw)) if raw else None


class RedisCrawlState:
    """The crawl state of a site in Redis hashes ``state`` (URL -> row) and ``aliases``."""

    commit_every = 1

    def __init__(self, client: redis.Redis, keys: FrontierKeys) -> None:
        self.client = client
        self.keys = keys
        self.path = f"redis {keys.state}"
        self._rows: dict[str, UrlRecord] = {}
        # The last rows this worker committed: a page's kind is corrected
        # (set_kind) right after its fetch is recorded, and that read needs no
        # round trip. Another worker writes the same URL in the same run only
        # after this one's lease expired, and this one never asks again.
        self._recent: OrderedDict[str, UrlRecord] = OrderedDict()
        self._aliases: dict[str, str] = {}
        self.before_commit: Callable[[], None] | None = None

    # -- reading -------------------------------------------------------------------
    def resolve(self, url: str) -> str:
        """The canonical URL ``url`` is an alias of, or ``url`` itself."""
        if url in self._aliases:
            return self._aliases[url]
        found = self.client.hget(self.keys.aliases, url)
        return found.decode() if isinstance(found, bytes) else (found or url)

    def get(self, url: str) -> UrlRecord | None:
        """What is known of canonical ``url`` (this worker's unwritten fetches included)."""
        row = self._rows.get(url) or self._recent.get(url)
        if row is not None:
            return row
        return _record(self.client.hget(self.keys.state, url))

    def resolve_many(self, urls: Sequence[str]) -> dict[str, str]:
        """The aliases among ``urls``, each with the canonical URL it stands for."""
        urls = list(urls)
        found = {u: self._aliases[u] for u in urls if u in self._aliases}
        rest = [u for u in urls if u not in found]
        for alias, value in self._hmget(self.keys.aliases, rest):
            found[alias] = value.decode() if isinstance(value, bytes) else value
        return found

    def get_many(self, urls: Sequence[str]) -> dict[str, UrlRecord]:
        """What is known of each of ``urls`` (canonical), by URL: one ``HMGET`` per 500."""
        urls = list(urls)
        found = {u: self._rows[u] for u in urls if u in self._rows}
        rest = [u for u in urls if u not in found]
        for url, raw in self._hmget(self.keys.state, rest):
            row = _record(raw)
            if row is not None:
                found[url] = row
        return found

    def _hmget(self, key: str, fields: list[str]) -> Iterator[tuple[str, Any]]:
        """``(field, value)`` of the fields of hash ``key`` that are set, one ``HMGET`` per 500."""
        for start in range(0, len(fields), 500):
            chunk = fields[start:start + 500]
            for field, value in zip(chunk, self.client.hmget(key, chunk), strict=True):
                if value is not None:
                    yield field, value

    def __iter__(self) -> Iterator[UrlRecord]:
        rows = {k.decode() if isinstance(k, bytes) else str(k): _record(v)
                for k, v in self.client.hgetall(self.keys.state).items()}
        rows.update(self._rows)
        for url in sorted(rows):
            row = rows[url]
            if row is not None:
                yield row

    def __len__(self) -> int:
        return int(self.client.hlen(self.keys.state)) + sum(
            1 for u in self._rows if not self.client.hexists(self.keys.state, u))

    # -- writing -------------------------------------------------------------------
    def record_fetch(
        self, url: str, *, kind: str, now: float, status: int, digest: str | None,
        fetched_url: str | None = None, lastmod: str | None = None,
        published: str | None = None, etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """Remember a fetch of canonical ``url``; say whether it was new or changed
        (validators as :meth:`~newsarchive.discover.state.CrawlState.record_fetch` keeps them)."""
        old = self.get(url)
        changed = old is not None and digest is not None and old.digest != digest
        if old is None:
            row = UrlRecord(url, kind, now, now, status, digest, now, lastmod, published, 1,
                            etag, last_modified)
        else:
            keep = status == 304  # a 304 keeps the validators unless it sent new ones
            row = UrlRecord(
                url, kind, old.first_seen, now, status, digest or old.digest,
                now if changed else old.last_changed, lastmod or old.lastmod,
                old.published or published, old.fetches + 1,
                (etag or old.etag) if keep else etag,
                (last_modified or old.last_modified) if keep else last_modified)
        self._rows[url] = row
        self._touch()
        return FetchResult(new=old is None, changed=changed)

    def set_kind(self, url: str, kind: str) -> None:
        """Correct the kind of canonical ``url``."""
        row = self.get(url)
        if row is not None:
            self._rows[url] = replace(row, kind=kind)
            self._touch()

    def add_alias(self, alias: str, url: str) -> None:
        """Record that the page fetched as ``alias`` declares itself ``url``."""
        if alias == url:
            return
        self._aliases[alias] = url
        row = self.get(alias)
        if row is not None:
            known = self.get(url)
            first = min(row.first_seen, known.first_seen) if known else row.first_seen
            values = list(astuple(row))
            values[0], values[2] = url, first
            self._rows[url] = UrlRecord(*values)
        self._touch()

    def _touch(self) -> None:
        if len(self._rows) + len(self._aliases) >= self.commit_every:
            self.commit()

    def commit(self) -> None:
        """Write the kept fetches to Redis (after :attr:`before_commit`)."""
        if not (self._rows or self._aliases):
            return
        if self.before_commit is not None:
            self.before_commit()
        import redis

        pipe = self.client.pipeline(transaction=True)
        if self._rows:
            rows: dict[str | bytes, str | bytes] = {
                u: json.dumps(astuple(r)) for u, r in self._rows.items()}
            pipe.hset(self.keys.state, mapping=rows)  # type: ignore[arg-type]  # redis-py's Mapping is invariant
        if self._aliases:
            pipe.hset(self.keys.aliases, mapping=self._aliases)  # type: ignore[arg-type]
        try:
            pipe.execute()
        except redis.RedisError as exc:
            raise StorageError(f"cannot write the crawl state to Redis: {exc}") from exc
        for url, row in self._rows.items():
            self._recent[url] = row
            self._recent.move_to_end(url)
        while len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        self._rows.clear()
        self._aliases.clear()

    def close(self) -> None:
        """Commit (nothing to close: the client is shared)."""
        self.commit()


class RunSeen:
    """The canonical URLs requested in this run by any worker (cleared when a run starts)."""

    def __init__(self, client: redis.Redis, keys: FrontierKeys) -> None:
        self.client = client
        self.key = keys.seen

    def __contains__(self, key: object) -> bool:
        return bool(self.client.sismember(self.key, str(key)))

    def add(self, key: object) -> None:
        """Mark ``key`` requested."""
        self.client.sadd(self.key, str(key))


def _client_and_keys(settings: object) -> tuple[redis.Redis, FrontierKeys]:
    from newsarchive.discover.frontier_keys import FrontierKeys, redis_client, site_id

    get = settings.get  # type: ignore[attr-defined]
    return redis_client(get("FRONTIER_URL")), FrontierKeys(site_id(get("FRONTIER_SITE") or "site"))


def open_crawl_state(settings: object) -> RedisCrawlState:
    """The shared crawl state of ``FRONTIER_URL`` / ``FRONTIER_SITE``."""
    return RedisCrawlState(*_client_and_keys(settings))


def open_run_seen(settings: object) -> RunSeen:
    """The shared set of URLs requested in the current run."""
    return RunSeen(*_client_and_keys(settings))
