"""A crawl shared by several workers on one Redis (``crawl --frontier``).

Against a real ``redis-server`` (tests/plugins/redis_server.py) and the demo
site: leases come back when a worker dies, and three worker processes, one
SIGKILLed mid-crawl and restarted, archive every article exactly once, each
with its sidecar; a second run of three fetches only what is new or due.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis

from newsarchive.capture.check import check_path
from newsarchive.fetch.frontier import Frontier, FrontierKeys, site_id
from tests.plugins.warcs import read_records

NEWSARCHIVE = str(Path(sys.executable).with_name("newsarchive"))
ARTICLE = re.compile(r"/\d{4}/\d{2}/\d{2}/")
SIDECAR = "urn:newsarchive:sidecar:"


def test_a_dead_workers_lease_returns_to_the_queue(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = FrontierKeys("leases")
    dead = Frontier(client, keys, "dead", lease_seconds=0.5)
    alive = Frontier(client, keys, "alive", lease_seconds=30)
    assert dead.begin() is True  # an idle frontier: a new run
    client.zadd(keys.requests, {b"first": -10, b"second": 0})
    lease, data, requeued = dead.pop()  # type: ignore[misc]
    assert (data, requeued) == (b"first", False)
    assert alive.begin() is False  # something is queued or leased: joined
    assert alive.pending()
    assert alive.requeue_expired() == 0  # not expired yet
    deadline = time.monotonic() + 30
    while not alive.requeue_expired():
        assert time.monotonic() < deadline, "the lease never expired"
        time.sleep(0.2)
    got = alive.pop()
    assert got is not None and got[1:] == (b"first", True)  # requeued: first, and marked
    alive.ack(got[0])
    second = alive.pop()
    assert second is not None and second[1] == b"second"
    alive.renew()
    alive.ack(second[0])
    assert not alive.pending() and alive.end() is True


def test_pause_stops_taking_requests(redis_url: str, capsys) -> None:
    from newsarchive.cli.main import main

    client = redis.Redis.from_url(redis_url)
    keys = FrontierKeys("127.0.0.1")
    worker = Frontier(client, keys, "w", lease_seconds=30)
    client.zadd(keys.requests, {b"r": 0})
    assert main(["frontier", "pause", redis_url]) == 0
    assert worker.pop() is None
    assert main(["frontier", "resume", redis_url, "--site", "127.0.0.1"]) == 0
    lease = worker.pop()
    assert lease is not None
    worker.heartbeat()
    capsys.readouterr()
    assert main(["frontier", "status", redis_url, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)["sites"][0]
    assert (status["site"], status["queued"], status["leased"]) == ("127.0.0.1", 0, 1)
    assert [w["worker"] for w in status["workers"]] == ["w"]
    assert main(["frontier", "clear", redis_url]) == 2  # which site?
    assert main(["frontier", "clear", redis_url, "--site", "127.0.0.1"]) == 0
    assert not client.keys("newsarchive:127.0.0.1:*")


def _calls(client: redis.Redis, command: str) -> int:
    """How many times the server ran ``command`` (all clients, since it started)."""
    return int(client.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


def test_a_link_already_queued_is_known_without_asking_redis_again(redis_url: str) -> None:
    from scrapy import Request

    from newsarchive.fetch.frontier import KnownDupeFilter

    client = redis.Redis.from_url(redis_url)
    key = FrontierKeys("dupes").dupefilter
    one, two = KnownDupeFilter(client, key), KnownDupeFilter(client, key)
    page = Request("http://example.org/a?b=1&a=2")
    assert one.request_seen(page) is False  # new in this run
    # Another worker queued the same page (the same canonical URL): a duplicate there too.
    assert two.request_seen(Request("http://example.org/a?a=2&b=1")) is True
    before = _calls(client, "sadd")
    assert one.request_seen(Request("http://example.org/a?b=1&a=2")) is True
    assert _calls(client, "sadd") == before  # answered from what this worker knows
    assert one.request_seen(Request("http://example.org/b")) is False
    assert _calls(client, "sadd") == before + 1  # a page it never saw: asked
    assert client.scard(key) == 2


def test_a_pop_says_how_many_are_left_and_takes_nothing_while_paused(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = FrontierKeys("left")
    worker = Frontier(client, keys, "w", lease_seconds=30)
    client.zadd(keys.requests, {b"a": 0, b"b": 1, b"c": 2})
    got = worker.pop()
    assert got is not None and got[1] == b"a" and worker.left == 2
    client.set(keys.paused, "1")
    assert worker.pop() is None and worker.left == -1  # paused: nothing taken
    assert client.zcard(keys.requests) == 2 and client.zcard(keys.leases) == 1
    client.delete(keys.paused)
    got = worker.pop()
    assert got is not None and got[1] == b"b" and worker.left == 1


def test_the_host_budget_holds_across_workers(redis_url: str) -> None:
    from newsarchive.fetch.hostbudget import ACQUIRE

    client = redis.Redis.from_url(redis_url)
    acquire = client.register_script(ACQUIRE)
    key = FrontierKeys("site").key("host:example.org")
    # Two workers, a budget of 2: the third request waits, whoever asks.
    assert acquire(keys=[key], args=[2, "w1:1", 60]) == 1
    assert acquire(keys=[key], args=[2, "w2:1", 60]) == 1
    assert acquire(keys=[key], args=[2, "w1:2", 60]) == 0
    client.zrem(key, "w2:1")  # a download ended
    assert acquire(keys=[key], args=[2, "w1:2", 60]) == 1
    # A dead worker's token expires by itself.
    assert acquire(keys=[key], args=[3, "dead:1", 0.2]) == 1
    time.sleep(0.5)
    assert acquire(keys=[key], args=[3, "w2:2", 60]) == 1


def test_demo_site_latency_delays_each_response_not_the_others(make_demo_site) -> None:
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    site = make_demo_site(articles=3, latency=0.5)
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        bodies = list(pool.map(lambda p: urllib.request.urlopen(site.urljoin(p), timeout=60).read(),
                               ["/", "/robots.txt", "/world/", "/feed.xml"]))
    took = time.monotonic() - started
    assert all(bodies)
    assert took >= 0.5  # each waited...
    assert took < 0.5 * 4  # ...at the same time (one thread per connection)


def _worker(url: str, out: Path, frontier: str, log: Path) -> subprocess.Popen[str]:
    # A short lease brings a killed worker's requests back soon. Not too short: a live
    # worker whose reactor does not run for two thirds of it (the renewal's period)
    # loses its leases and a page is fetched twice (a revisit: "at least once"). With
    # 10 s it happened once, at load ~10: the live workers wrote nothing for ~8 s
    # while the killed one started again, and one of their leases expired.
    return subprocess.Popen(
        [NEWSARCHIVE, "crawl", url, "--out", str(out), "--frontier", frontier, "--json",
         "--depth", "2", "-s", "FRONTIER_LEASE=20"],
        stdout=subprocess.PIPE, stderr=open(log, "a"), text=True,  # noqa: SIM115
    )


def _run_workers(url: str, out: Path, frontier: str, tmp: Path, kill_after: int = 0) -> list[dict]:
    """Three workers; with ``kill_after``, SIGKILL one once the crawl log has that many
    lines and start it again. Returns the summaries of the workers that finished."""
    procs = [_worker(url, out, frontier, tmp / f"worker{i}.log") for i in range(3)]
    if kill_after:
        log = out / "logs" / "crawl.log"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if log.exists() and len(log.read_text().splitlines()) >= kill_after:
                break
            time.sleep(0.01)
        assert procs[1].poll() is None, "the crawl ended before the kill"
        os.kill(procs[1].pid, signal.SIGKILL)
        procs[1].wait()
        procs[1] = _worker(url, out, frontier, tmp / "worker1-again.log")
    summaries = []
    for proc in procs:
        stdout, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, (tmp / "worker0.log").read_text()[-3000:]
        summaries.append(json.loads(stdout))
    return summaries


def _records(out: Path, base: str) -> tuple[Counter, Counter, Counter]:
    """Across all WARC files: responses, revisits and sidecars per path."""
    responses: Counter = Counter()
    revisits: Counter = Counter()
    sidecars: Counter = Counter()
    for path in sorted((out / "warc").glob("*.warc.gz")):
        assert check_path(str(path)).ok, path
        with open(path, "rb") as fh:
            for rec in read_records(fh):
                uri = rec.rec_headers.get_header("WARC-Target-URI") or ""
                if rec.rec_type == "response":
                    responses[uri.removeprefix(base)] += 1
                elif rec.rec_type == "revisit":
                    revisits[uri.removeprefix(base)] += 1
                elif rec.rec_type == "metadata" and uri.startswith(SIDECAR):
                    sidecars[uri.removeprefix(SIDECAR).removeprefix(base)] += 1
    return responses, revisits, sidecars


@pytest.mark.slow
def test_three_workers_one_killed_archive_each_article_once(
    make_demo_site, redis_url: str, tmp_path: Path,
) -> None:
    # Slow enough pages that all three workers take some (each writes files of its own).
    site = make_demo_site(articles=40, latency=0.2)
    out = tmp_path / "collection"
    _run_workers(site.url, out, redis_url, tmp_path, kill_after=25)

    articles = {a.path for a in site.articles}
    responses, revisits, sidecars = _records(out, site.base_url)
    assert not list((out / "warc").glob("*.open")), "the restarted worker closes its files"
    names = {p.name.rsplit("-", 2)[-1] for p in (out / "warc").glob("*.warc.gz")}
    assert len(names) >= 3, names  # each worker writes files of its own
    missing = articles - set(responses)
    assert not missing, f"never archived: {sorted(missing)}"
    twice = {p: n for p, n in responses.items() if p in articles and n > 1}
    assert not twice, f"archived more than once: {twice}"
    again = {p: n for p, n in revisits.items() if p in articles}
    assert not again, f"fetched again (revisit records): {again}"
    assert {p: sidecars[p] for p in articles if sidecars[p] != 1} == {}
    # Nothing is left behind in Redis: the run is over.
    client = redis.Redis.from_url(redis_url)
    keys = FrontierKeys(site_id(site.url))
    assert client.zcard(keys.requests) == client.zcard(keys.leases) == 0
    assert client.hlen(keys.state) > len(articles)

    # Day 2: three workers fetch only the new articles and what is always fetched.
    day1 = set(articles)
    site.set_day(2)
    new = {a.path for a in site.articles} - day1
    site.reset_log()
    summaries = _run_workers(site.url, out, redis_url, tmp_path)
    fetched = Counter(r.path for r in site.requests)
    assert not {p for p in fetched if p in day1}, "a day-1 article was fetched again"
    assert {p: fetched[p] for p in new if fetched[p] != 1} == {}
    assert sum(s["new_articles"] for s in summaries) == len(new)


def _start_run_at(folder: str, barrier: Any, queue: Any) -> None:
    import datetime as dt

    from newsarchive.report.history import start_run

    barrier.wait()
    queue.put(start_run(Path(folder), now=dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)).run_id)


def test_workers_starting_in_one_second_into_one_folder_each_get_their_own_run(
        tmp_path: Path) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_start_run_at, args=(str(tmp_path), barrier, queue))
             for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]  # before: a lost race raised ENOENT
    ids = sorted(queue.get(timeout=5) for _ in procs)
    assert len(set(ids)) == 4
    assert sorted(p.stem for p in (tmp_path / "reports").glob("*.json")) == ids


def test_a_worker_whose_reactor_stands_keeps_its_leases_and_a_hung_one_gives_them_back(
        redis_url: str) -> None:
    """Leases are renewed from a thread: a crawl busy for longer than its lease does
    not lose its pages to other workers, but one that hangs for good lets them go."""
    from newsarchive.fetch.leases import LeaseKeeper

    client = redis.Redis.from_url(redis_url)
    keys = FrontierKeys("keeper")
    busy = Frontier(client, keys, "busy", lease_seconds=1.5)
    other = Frontier(client, keys, "other", lease_seconds=30)
    busy.begin()
    client.zadd(keys.requests, {b"page": 0})
    assert busy.pop() is not None
    keeper = LeaseKeeper(busy, hung_after=6.0)
    keeper.start()
    try:
        time.sleep(4.5)  # three leases long, and nothing calls keeper.alive(): a standing reactor
        assert other.requeue_expired() == 0, "a live worker's lease expired"
        deadline = time.monotonic() + 30
        while True:  # past hung_after the keeper stops renewing (either may requeue it)
            other.requeue_expired()
            got = other.pop()
            if got is not None:
                break
            assert time.monotonic() < deadline, "a hung worker kept its lease"
            time.sleep(0.2)
        assert got[1:] == (b"page", True)
    finally:
        keeper.stop()
