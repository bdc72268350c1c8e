"""The Redis keys of a site's shared crawl, and the client (``crawl --frontier``).

Used by the frontier (:mod:`newsarchive.fetch.frontier`), the shared crawl
state (:mod:`newsarchive.discover.redis_state`) and the shared dedup index
(:mod:`newsarchive.capture.redis_dedup`); the key list is in
``infra/distributed/scrapy-redis.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from newsarchive.exceptions import ConfigError, StorageError

if TYPE_CHECKING:
    import redis


def redis_client(url: str) -> redis.Redis:
    """A client for ``redis://HOST:PORT/DB``; a :class:`ConfigError` for a bad URL,
    a :class:`StorageError` if nobody answers there."""
    import redis

    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"--frontier takes redis://HOST:PORT/DB, not {url!r}")
    try:
        client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10,
                                      health_check_interval=30)
        client.ping()
    except ValueError as exc:
        raise ConfigError(f"--frontier {url}: {exc}") from None
    except redis.RedisError as exc:
        raise StorageError(f"cannot reach the frontier {url}: {exc}") from None
    return client


def site_id(value: str) -> str:
    """A site's name as a safe Redis key part (a URL becomes its host, and port if any)."""
    if "://" in value:
        value = urlsplit(value).netloc.lower() or value
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in value) or "site"


@dataclass(frozen=True)
class FrontierKeys:
    """The Redis keys of one site's shared crawl."""

    site: str

    def key(self, name: str) -> str:
        """``newsarchive:SITE:NAME``."""
        return f"newsarchive:{self.site}:{name}"

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.key(name.replace("_", "-"))

    def all(self) -> list[str]:
        """Every key of the site (for ``frontier clear``)."""
        return [self.key(n) for n in (
            "requests", "retry", "dupefilter", "leases", "leased", "lease-owner", "lease-prio",
            "lease-seq", "seen", "written", "run", "paused", "workers", "state", "aliases",
            "dedup")]
