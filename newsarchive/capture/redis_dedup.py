"""The dedup index in Redis, shared by every worker of a frontier (``crawl --frontier``).

The interface of :class:`~newsarchive.capture.dedup.DigestIndex`: a digest is
added by the writer thread right after its record is flushed, as in SQLite;
the first worker to add a digest wins (``HSETNX``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from newsarchive.capture.dedup import Original
from newsarchive.discover.frontier_keys import FrontierKeys, redis_client, site_id

if TYPE_CHECKING:
    import redis


class RedisDigestIndex:
    """``payload digest -> first capture`` in the Redis hash ``dedup``, for all workers."""

    def __init__(self, client: redis.Redis, keys: FrontierKeys) -> None:
        self.client = client
        self.key = keys.dedup

    def lookup(self, digest: str) -> Original | None:
        """The first capture of ``digest``, if any."""
        raw = self.client.hget(self.key, digest)
        return Original(*json.loads(raw)) if raw else None

    def add(self, digest: str, uri: str, date: str, record_id: str) -> None:
        """Remember a stored payload; the first worker to add a digest wins."""
        self.client.hsetnx(self.key, digest, json.dumps([uri, date, record_id]))

    def commit(self) -> None:
        """Nothing kept back: every add is written at once."""

    def close(self) -> None:
        """Nothing to close: the client is shared."""


def open_dedup_index(settings: Any) -> RedisDigestIndex:
    """The shared dedup index of ``FRONTIER_URL`` / ``FRONTIER_SITE``."""
    client = redis_client(settings.get("FRONTIER_URL"))
    return RedisDigestIndex(client, FrontierKeys(site_id(settings.get("FRONTIER_SITE") or "site")))
