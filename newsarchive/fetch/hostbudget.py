"""Politeness across workers: one budget of concurrent requests per host, in Redis.

Scrapy's ``CONCURRENT_REQUESTS_PER_DOMAIN`` counts one process's requests;
with N workers on a frontier a site would see N times as many. This
downloader middleware (priority 990, the last before the download) takes a
token from the host's sorted set ``newsarchive:SITE:host:HOST`` before each
download and gives it back when the response (or the failure) comes (from a
thread of the reactor's pool: nobody waits for that answer): at most
``FRONTIER_HOST_CONCURRENCY`` (default ``CONCURRENT_REQUESTS_PER_DOMAIN``)
tokens are out at once, across all workers. A token carries an expiry of
``FRONTIER_LEASE`` seconds that its worker pushes on every third of that
while the download lasts, so a killed worker's tokens free themselves as its
leases do. A request that finds the budget spent waits, polling every 50 ms,
without holding a download slot. Stats: ``frontier/host_waits``.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

logger = logging.getLogger(__name__)

TOKEN_META = "na_host_token"

# KEYS: the host's set.  ARGV: limit, token, seconds the token lives.
ACQUIRE = """
local t = redis.call('TIME')
local now = t[1] + t[2] / 1e6
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  return 1
end
return 0
"""


class HostBudgetMiddleware:
    """Takes a host token before each download (see the module docstring)."""

    def __init__(self, crawler: Crawler) -> None:
        from newsarchive.fetch.frontier import FrontierKeys, redis_client, site_id

        s = crawler.settings
        self.stats = crawler.stats
        self.client = redis_client(s.get("FRONTIER_URL"))
        self.keys = FrontierKeys(site_id(s.get("FRONTIER_SITE") or "site"))
        self.limit = s.getint("FRONTIER_HOST_CONCURRENCY") or s.getint(
            "CONCURRENT_REQUESTS_PER_DOMAIN")
        self.ttl = s.getfloat("FRONTIER_LEASE")
        self._acquire = self.client.register_script(ACQUIRE)
        self._held: dict[str, str] = {}  # token -> host key, while downloading
        self._loop: Any = None
        self._ids = itertools.count()
        self._me = f"{s.get('FRONTIER_WORKER') or 'worker'}:{os.getpid()}"

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostBudgetMiddleware:
        """Enabled with ``FRONTIER_URL``."""
        if not crawler.settings.get("FRONTIER_URL"):
            raise NotConfigured  # no shared frontier (on purpose: no warning)
        mw = cls(crawler)
        from scrapy import signals

        crawler.signals.connect(mw._start, signal=signals.spider_opened)
        crawler.signals.connect(mw._stop, signal=signals.spider_closed)
        return mw

    def _start(self, spider: Any = None) -> None:
        from twisted.internet import task

        self._loop = task.LoopingCall(self._renew)
        self._loop.start(max(0.5, self.ttl / 3), now=False)

    def _stop(self, spider: Any = None) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def _renew(self) -> None:
        """Push the expiry of the tokens of downloads still running."""
        if not self._held:
            return
        try:
            until = float(self.client.time()[0]) + self.ttl
            pipe = self.client.pipeline(transaction=False)
            for token, key in list(self._held.items()):
                pipe.zadd(key, {token: until}, xx=True)
            pipe.execute()
        except Exception as exc:  # then they expire; the budget is briefly exceeded
            logger.warning("frontier: cannot renew host tokens: %s", exc)

    def _key(self, request: Request) -> str:
        return self.keys.key(f"host:{urlsplit(request.url).netloc.lower()}")

    async def process_request(self, request: Request, spider: Any = None) -> None:
        """Wait for a token of the request's host."""
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet import reactor
        from twisted.internet.task import deferLater

        key = self._key(request)
        token = f"{self._me}:{next(self._ids)}"
        waited = False
        while not self._acquire(keys=[key], args=[self.limit, token, self.ttl]):
            if not waited:
                waited = True
                self.stats.inc_value("frontier/host_waits")
            await maybe_deferred_to_future(
                deferLater(reactor, 0.03 + random.random() * 0.04, lambda: None))
        request.meta[TOKEN_META] = (key, token)
        self._held[token] = key

    def _release(self, request: Request) -> None:
        held = request.meta.pop(TOKEN_META, None)
        if held is not None:
            self._held.pop(held[1], None)
            # Off the reactor thread: nothing waits for the answer, and a round trip
            # per response there was 4% of its time (py-spy, 1,000-article crawl).
            from twisted.internet import reactor

            reactor.callInThread(self._give_back, *held)

    def _give_back(self, key: str, token: str) -> None:
        try:
            self.client.zrem(key, token)
        except Exception as exc:  # the token then expires by itself
            logger.warning("frontier: cannot give back a host token: %s", exc)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        """Give the token back."""
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> None:
        """Give the token back."""
        self._release(request)
