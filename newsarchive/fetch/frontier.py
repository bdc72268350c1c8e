"""A crawl frontier in Redis shared by any number of workers (``crawl --frontier``).

scrapy-redis holds the request queue (its ``PriorityQueue``, a sorted set) and
the duplicate filter (its ``RFPDupeFilter``, a set of fingerprints), under
keys of their own per site (:class:`FrontierKeys`). On top of it, what an
archive needs and scrapy-redis does not do:

* **leases**: a popped request is not just removed: :data:`POP` moves it, in
  one Lua script, into ``leases`` (a sorted set scored by expiry, Redis's own
  clock) with its data in ``leased``. The worker renews the expiry of what it
  holds every ``FRONTIER_LEASE / 3`` seconds, from a thread of its own
  (:class:`LeaseKeeper`: a reactor that stands still a while keeps them), and
  acknowledges a request once Scrapy is done with it (:class:`Acker`): after
  its WARC record is written when it got a response (the record's ticket), at
  once when it failed or was dropped, and when a redirect or retry derived
  from it is queued. Any worker puts expired leases (a killed worker's) back
  on the queue (:data:`REQUEUE`), marked so the per-run duplicate check lets
  them through.
  A kill between a record's flush and its acknowledgement (microseconds)
  would fetch that one page again: the lease is what makes "at least once"
  exact, the crawl state what keeps it "once".
* **runs**: scrapy-redis's dupefilter is forever; an archive re-crawls. The
  first worker to join an idle frontier (no queue, no leases) starts a run
  (:data:`BEGIN`): it clears the dupefilter and the run's seen set; a worker
  joining later only adds. A worker stays until the whole frontier is done
  (queue and leases empty), so the crawl ends when the last request does.
* ``pause``: while the key is set, workers take nothing new
  (``newsarchive frontier pause``; :data:`POP` looks at it).
* **round trips**: a worker's reactor thread waits for each Redis answer,
  so the per-request ones are few: a pop (its pause check and the queue's
  length in the same script), a host token; a link already queued in this
  run costs none (:class:`KnownDupeFilter`).
* **workers**: each heartbeat records the worker, its pages and rate in
  ``workers`` (``newsarchive frontier status``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from newsarchive import meta
from newsarchive.discover.frontier_keys import FrontierKeys, redis_client, site_id
from newsarchive.fetch.leases import HUNG_AFTER, Acker, LeaseKeeper

if TYPE_CHECKING:
    import redis
    from scrapy.crawler import Crawler
    from scrapy.http import Request

logger = logging.getLogger(__name__)

LEASE_META = "na_lease"  # request.meta: the lease id of a popped request
# The capture middleware's keys (newsarchive.meta): the record's ticket, the mark its
# writer reports once archived, and "do not archive".
TICKET_META = meta.WARC_TICKET
MARK_META = meta.WARC_MARK
SKIP_META = meta.WARC_SKIP

PENDING_KEPT = 0.5  # seconds a "the run has requests left" answer is kept (Frontier.pending)
# Fewer requests queued than this after a pop: the scheduler tells the spider to feed
# its sitemap backlog (see FrontierScheduler.next_request).
LOW_WATER = 64
KNOWN_MAX = 200_000  # fingerprints a worker keeps of the run's dupefilter (KnownDupeFilter)


# KEYS: requests, retry, leases, leased, lease-owner, lease-prio, lease-seq, paused
# ARGV: lease seconds, worker.  Returns {id, data, requeued, requests left} or nil (none,
# or paused: one round trip per request, not a second one to ask about the pause).
POP = """
if redis.call('EXISTS', KEYS[8]) == 1 then return nil end
local requeued = 1
local r = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #r == 0 then
  requeued = 0
  r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #r == 0 then return nil end
  redis.call('ZREM', KEYS[1], r[1])
else
  redis.call('ZREM', KEYS[2], r[1])
end
local t = redis.call('TIME')
local id = redis.call('INCR', KEYS[7])
redis.call('ZADD', KEYS[3], t[1] + t[2] / 1e6 + tonumber(ARGV[1]), id)
redis.call('HSET', KEYS[4], id, r[1])
redis.call('HSET', KEYS[5], id, ARGV[2])
redis.call('HSET', KEYS[6], id, r[2])
return {tostring(id), r[1], requeued, redis.call('ZCARD', KEYS[1])}
"""

# KEYS: leases, leased, lease-owner, lease-prio, retry.  ARGV: only this worker's ("" = expired)
REQUEUE = """
local ids
if ARGV[1] == '' then
  local t = redis.call('TIME')
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', t[1] + t[2] / 1e6, 'LIMIT', 0, 500)
else
  ids = {}
  local all = redis.call('HGETALL', KEYS[3])
  for i = 1, #all, 2 do
    if all[i + 1] == ARGV[1] then table.insert(ids, all[i]) end
  end
end
for _, id in ipairs(ids) do
  local data = redis.call('HGET', KEYS[2], id)
  if data then
    redis.call('ZADD', KEYS[5], redis.call('HGET', KEYS[4], id) or 0, data)
  end
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
end
return #ids
"""

# KEYS: leases, ids...  ARGV: lease seconds.  Pushes the expiry of live leases.
RENEW = """
local t = redis.call('TIME')
local until_ = t[1] + t[2] / 1e6 + tonumber(ARGV[1])
for i = 2, #KEYS do redis.call('ZADD', KEYS[1], 'XX', until_, KEYS[i]) end
return #KEYS - 1
"""

# KEYS: requests, retry, leases, run, dupefilter, seen, written.  ARGV: run id, seconds.
# Returns 1 if this worker started a new run, 0 if it joined one (or resumed one whose
# workers all died: requests left, no live run key).
BEGIN = """
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('EXPIRE', KEYS[4], ARGV[2])
  return 0
end
redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[2])
if redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3]) > 0 then
  return 0
end
redis.call('DEL', KEYS[5], KEYS[6], KEYS[7])
return 1
"""

# KEYS: requests, retry, leases, run.  Ends the run if nothing is left.
END = """
if redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3]) == 0 then
  redis.call('DEL', KEYS[4])
  return 1
end
return 0
"""


class Frontier:
    """One worker's handle on a site's shared frontier: leases, runs, heartbeats."""

    def __init__(self, client: redis.Redis, keys: FrontierKeys, worker: str,
                 lease_seconds: float) -> None:
        self.client = client
        self.keys = keys
        self.worker = worker
        self.lease_seconds = lease_seconds
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._pop = client.register_script(POP)
        self._requeue = client.register_script(REQUEUE)
        self._renew = client.register_script(RENEW)
        self._begin = client.register_script(BEGIN)
        self._end = client.register_script(END)
        self.pages = 0
        self.left = -1  # requests queued after the last pop (-1: unknown, none came)
        self._last = (time.time(), 0)
        k = keys
        self._pop_keys = [k.requests, k.retry, k.leases, k.leased, k.lease_owner, k.lease_prio,
                          k.lease_seq, k.paused]
        # The run key lives while a worker renews it: if all die, the next start is
        # a new run once the queue is empty (or resumes the queue left).
        self.run_ttl = int(max(30.0, lease_seconds * 3))

    def _lease_keys(self) -> list[str]:
        k = self.keys
        return [k.leases, k.leased, k.lease_owner, k.lease_prio]

    def begin(self) -> bool:
        """Join the site's run, or start a new one if the frontier is idle."""
        k = self.keys
        run = f"{self.worker}@{time.time():.0f}"
        return bool(self._begin(
            keys=[k.requests, k.retry, k.leases, k.run, k.dupefilter, k.seen, k.written],
            args=[run, self.run_ttl]))

    def end(self) -> bool:
        """End the run if nothing is left in it (the last worker out)."""
        k = self.keys
        return bool(self._end(keys=[k.requests, k.retry, k.leases, k.run]))

    def pop(self) -> tuple[str, bytes, bool] | None:
        """Lease the next request: ``(lease id, data, requeued)``; None if none or paused.

        Sets :attr:`left`, the requests still queued after it (-1 when none came)."""
        got = self._pop(keys=self._pop_keys, args=[self.lease_seconds, self.worker])
        if not got:
            self.left = -1
            return None
        lease = got[0].decode() if isinstance(got[0], bytes) else str(got[0])
        self.left = int(got[3])
        with self._lock:
            self._held.add(lease)
        return lease, got[1], bool(int(got[2]))

    def ack(self, lease: str) -> None:
        """The request of ``lease`` is done: forget it."""
        k = self.keys
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(k.leases, lease)
        pipe.hdel(k.leased, lease)
        pipe.hdel(k.lease_owner, lease)
        pipe.hdel(k.lease_prio, lease)
        pipe.execute()
        with self._lock:
            self._held.discard(lease)

    def renew(self) -> int:
        """Push the expiry of every lease this worker holds."""
        with self._lock:
            held = sorted(self._held)
        if not held:
            return 0
        return int(self._renew(keys=[self.keys.leases, *held], args=[self.lease_seconds]))

    def requeue_expired(self) -> int:
        """Put the requests of expired leases (dead workers') back on the queue."""
        n = int(self._requeue(keys=[*self._lease_keys(), self.keys.retry], args=[""]))
        if n:
            logger.warning("frontier: %d expired leases put back on the queue", n)
        return n

    def release(self) -> int:
        """Give back what this worker still holds (a graceful stop drops them)."""
        n = int(self._requeue(keys=[*self._lease_keys(), self.keys.retry], args=[self.worker]))
        with self._lock:
            self._held.clear()
        return n

    def pending(self) -> bool:
        """Anything left in the run: queued, requeued or leased by any worker."""
        k = self.keys
        pipe = self.client.pipeline(transaction=False)
        for key in (k.requests, k.retry, k.leases):
            pipe.zcard(key)
        return sum(pipe.execute()) > 0

    def heartbeat(self) -> None:
        """Record this worker in ``workers`` with its pages and rate; keep the run alive."""
        self.client.expire(self.keys.run, self.run_ttl)  # no-op once the run ended
        now = time.time()
        then, pages = self._last
        rate = (self.pages - pages) / (now - then) if now > then else 0.0
        self._last = (now, self.pages)
        self.client.hset(self.keys.workers, self.worker, json.dumps(
            {"seen": now, "pages": self.pages, "rate": round(rate, 2), "pid": os.getpid()}))


def written_marker(settings: Any) -> Any:
    """The WARC writer's ``on_written`` for a frontier worker: adds the request's
    fingerprint to the run's ``written`` set once its records are on disk."""
    keys = FrontierKeys(site_id(settings.get("FRONTIER_SITE") or "site"))
    client = redis_client(settings.get("FRONTIER_URL"))

    def written(fingerprint: str) -> None:
        client.sadd(keys.written, fingerprint)

    return written


class KnownDupeFilter(RFPDupeFilter):
    """scrapy-redis's dupefilter that asks Redis about a fingerprint only once.

    A news page links the same fronts, sections and related stories as the
    page before it: about 12 links per page, most of them already queued. The
    run's fingerprints only grow until the next run (which a worker never
    sees: it stays until its run ends), so one this worker has seen in the
    set is a duplicate for the rest of its life and needs no ``SADD`` round
    trip; that was a fifth of the reactor's time of a 1,000-article frontier
    crawl (py-spy). At most :data:`KNOWN_MAX` are kept (about 100 bytes each);
    past that the set starts over, costing only round trips.
    """

    def __init__(self, server: redis.Redis, key: str, debug: bool = False) -> None:
        super().__init__(server, key, debug)
        self._known: set[str] = set()

    def request_seen(self, request: Request) -> bool:
        """Whether ``request`` was queued in this run, by any worker."""
        fp = self.request_fingerprint(request)
        if fp in self._known:
            return True
        added = self.server.sadd(self.key, fp)
        if len(self._known) >= KNOWN_MAX:
            self._known.clear()
        self._known.add(fp)
        return added == 0


class LeasedQueue(PriorityQueue):
    """scrapy-redis's priority queue, popping into leases (see the module docstring)."""

    frontier: Frontier
    df: RFPDupeFilter

    def pop(self, timeout: int = 0) -> Request | None:
        """Lease the next request (``meta[LEASE_META]``); None if the queue is empty.

        A requeued request whose records a dead worker had written (its
        fingerprint is in ``written``) is fetched for its links only, not
        archived again."""
        got = self.frontier.pop()
        if got is None:
            return None
        lease, data, requeued = got
        try:
            request = self._decode_request(data)
        except Exception as exc:
            logger.error("frontier: dropped an undecodable request: %s", exc)
            self.frontier.ack(lease)
            return None
        request.meta[LEASE_META] = lease
        fingerprint = self.df.request_fingerprint(request)
        request.meta[MARK_META] = fingerprint
        if requeued:
            # Its first lease expired: let it past the per-run duplicate check.
            request.dont_filter = True
            if self.server.sismember(self.frontier.keys.written, fingerprint):
                request.meta[SKIP_META] = True
                logger.info("frontier: %s was archived by a worker that died; fetched "
                            "for its links only", request.url)
        return request

    def __len__(self) -> int:
        return int(self.server.zcard(self.key)) + int(self.server.zcard(self.frontier.keys.retry))


class FrontierScheduler(Scheduler):
    """scrapy-redis's scheduler with leases and runs; enabled by ``FRONTIER_URL``."""

    frontier: Frontier
    acker: Acker
    _pending_until = 0.0  # monotonic time until which "requests pending" is taken as known

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierScheduler:
        """Connect to ``FRONTIER_URL``; keys from ``FRONTIER_SITE``."""
        s = crawler.settings
        client = redis_client(s.get("FRONTIER_URL"))
        keys = FrontierKeys(site_id(s.get("FRONTIER_SITE") or "site"))
        instance = cls(
            server=client,
            persist=True,  # runs, not Scrapy's open/close, decide what is cleared
            queue_key=keys.requests,
            queue_cls="newsarchive.fetch.frontier.LeasedQueue",
            dupefilter=KnownDupeFilter(client, keys.dupefilter),
        )
        instance.stats = crawler.stats
        lease = s.getfloat("FRONTIER_LEASE")
        instance.frontier = Frontier(client, keys, s.get("FRONTIER_WORKER") or "worker", lease)
        instance.acker = Acker(instance.frontier, timeout=max(lease, 60.0))
        instance.crawler = crawler
        return instance

    def open(self, spider: Any) -> None:
        """Join or start the site's run; renew leases and requeue expired ones on a timer."""
        from twisted.internet import task

        started = self.frontier.begin()
        self.spider = spider
        self.queue = LeasedQueue(server=self.server, spider=spider, key=self.queue_key,
                                 serializer=self.serializer)
        self.queue.frontier = self.frontier
        self.queue.df = self.df
        logger.info("frontier %s: %s (worker %s, %d queued)", self.frontier.keys.site,
                    "new run" if started else "joined the run", self.frontier.worker,
                    len(self.queue))
        self.crawler.stats.set_value("frontier/new_run", started)
        self.keeper = LeaseKeeper(self.frontier, hung_after=max(HUNG_AFTER,
                                                                3 * self.frontier.lease_seconds))
        self.keeper.start()
        # Scrapy asks an empty scheduler again only every 5 s (its heartbeat); the
        # queue is shared and other workers add to it, so ask more often.
        self._poll = task.LoopingCall(self._wake)
        self._poll.start(0.25, now=False)

    def _wake(self) -> None:
        self.keeper.alive()
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None:
            slot.nextcall.schedule()

    def close(self, reason: str) -> None:
        """Ack what was written, give back the rest, end the run if it is over."""
        with contextlib.suppress(Exception):
            self._poll.stop()
        self.keeper.stop()
        self.acker.close()
        released = self.frontier.release()
        if released:
            logger.info("frontier: %d unfinished requests put back on the queue", released)
        self.frontier.heartbeat()
        if self.frontier.end():
            logger.info("frontier %s: run finished", self.frontier.keys.site)

    def enqueue_request(self, request: Request) -> bool:
        """Queue ``request``; a request derived from a leased one (a redirect, a
        retry, a render) acks its parent's lease once the parent's record is written."""
        parent = request.meta.pop(LEASE_META, None)
        ticket = request.meta.pop(TICKET_META, None)
        request.meta.pop(MARK_META, None)
        if parent is not None:
            self.acker.submit(parent, ticket)
        # Start requests are dont_filter, and each worker yields them: one copy a run.
        # (A retry or a render of a leased request is let through.)
        if (not request.dont_filter or parent is None) and self.df.request_seen(request):
            self.stats.inc_value("dupefilter/filtered")
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def next_request(self) -> Request | None:
        """The next request, leased; None if the queue is empty (or paused).

        When few are left queued, the spider is told as if the queue were
        empty (``scheduler_empty``): the worker holding the sitemap's backlog
        then queues its next batch before the other workers find nothing to
        take and wait for their next poll."""
        request = self.queue.pop()
        if request is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
            if 0 <= self.frontier.left < LOW_WATER:
                from scrapy import signals

                self.crawler.signals.send_catch_log(signals.scheduler_empty)
        return request

    def has_pending_requests(self) -> bool:
        """True while anything is left in the run, any worker's: stay until the end.

        Scrapy asks after every request; a "yes" is kept for
        :data:`PENDING_KEPT` seconds (it only delays this worker's end by
        that), a "no" is asked again every time."""
        now = time.monotonic()
        if now < self._pending_until:
            return True
        try:
            found = self.frontier.pending()
        except Exception as exc:
            logger.warning("frontier: %s", exc)
            return True
        self._pending_until = now + PENDING_KEPT if found else 0.0
        return found

    def done_with(self, request: Request) -> None:
        """Scrapy is done with ``request``: ack its lease (after its record, if any)."""
        lease = request.meta.pop(LEASE_META, None)
        if lease is not None:
            self.acker.submit(lease, request.meta.get(TICKET_META))


class FrontierAckMiddleware:
    """Acks a leased request once Scrapy is done with it.

    As a spider middleware (outermost), after the spider's callback has yielded
    everything (its links are queued) and the response's record is written; as
    a downloader middleware (outermost), at once when the request failed or was
    refused and nothing reaches the spider.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierAckMiddleware:
        """Enabled with ``FRONTIER_URL`` (its scheduler is then ours)."""
        from scrapy.exceptions import NotConfigured

        if not crawler.settings.get("FRONTIER_URL"):
            raise NotConfigured  # no shared frontier (on purpose: no warning)
        return cls(crawler)

    def _done(self, request: Request | None) -> None:
        engine = self.crawler.engine
        scheduler = getattr(getattr(engine, "_slot", None), "scheduler", None)
        if request is not None and isinstance(scheduler, FrontierScheduler):
            scheduler.done_with(request)

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> None:
        """Failed, refused or dropped before the spider: ack now."""
        self._done(request)

    def process_spider_output(self, response: Any, result: Any, spider: Any = None) -> Any:
        """Pass the callback's output on; ack once it is all out."""
        yield from result
        self._done(response.request)

    async def process_spider_output_async(self, response: Any, result: Any,
                                          spider: Any = None) -> Any:
        """Pass the callback's output on; ack once it is all out."""
        async for item in result:
            yield item
        self._done(response.request)

    def process_spider_exception(self, response: Any, exception: Exception,
                                 spider: Any = None) -> None:
        """The callback failed (or the response was an HTTP error): ack."""
        self._done(response.request)
