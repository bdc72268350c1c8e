#!/usr/bin/env python3
"""Pages/s of a crawl shared by 1, 2 and 4 workers (``crawl --frontier``) on one Redis.

Serves the demo site with ``demo-site --latency MS`` (every response waits,
as a distant site does), starts a ``redis-server`` of its own on a free port,
and crawls the site with N worker processes into one ``--out``, each crawl
from a fresh folder and an emptied Redis database. Each worker keeps
``--per-worker`` requests in flight (``CONCURRENT_REQUESTS``); the site-wide
budget (``FRONTIER_HOST_CONCURRENCY``) is raised so it does not cap N
workers. With latency-bound fetching, N workers should reach N times one
worker's rate.

The workers start with the frontier paused (``frontier pause``); once all of
them have joined (their heartbeats in ``workers``), it is resumed, and the
rate is taken from the shared ``logs/crawl.log``: responses archived from
then to its last line. So process start-up (tens of seconds on a loaded
machine, different per worker) is not counted. Rounds rotate the order of N; it prints the median
rate per N and its scaling beside the ideal (N), and the load average before and after.

The site must be large enough that the rate is the steady one: the crawl
starts with a chain of requests nobody can share (robots.txt, the sitemap
index, the sitemaps), about a second at 200 ms each, and ends with a tail;
at 300 articles and 4 workers those were a third of the run. The
``steady`` column is the rate between the 10th and the 90th percentile of
the responses' times, for comparison.

usage: .venv/bin/python benchmarks/distributed.py [--articles 1500] [--latency 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import BIN, free_port, start_demo_site  # noqa: E402


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Debian's redis-server on a free port, no persistence; returns it and its URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is not installed: ./run setup installs it")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir",
                             str(folder), "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 30
    while True:
        try:
            redis.Redis.from_url(url).ping()
            return proc, url
        except redis.RedisError:
            if time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("redis-server did not start") from None
            time.sleep(0.1)


def crawl_rate(url: str, frontier: str, out: Path, workers: int,
               per_worker: int) -> tuple[float, float, int]:
    """Crawl with ``workers`` processes; (archived responses per second, the same
    between the 10th and 90th percentile of their times, responses)."""
    import redis

    client = redis.Redis.from_url(frontier)
    client.flushdb()
    site = url.split("//")[1].strip("/").replace(":", "-")
    client.set(f"newsarchive:{site}:paused", "1")
    cmd = [str(BIN), "crawl", url, "--out", str(out), "--frontier", frontier, "--json",
           "--quiet", "--no-sidecars", "--no-report",
           "-s", f"CONCURRENT_REQUESTS={per_worker}",
           "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={per_worker}",
           "-s", f"FRONTIER_HOST_CONCURRENCY={per_worker * 8}"]
    out.mkdir(parents=True)
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                              stderr=open(out / f"worker{i}.err", "wb"))  # noqa: SIM115
             for i in range(workers)]
    deadline = time.monotonic() + 600
    while client.hlen(f"newsarchive:{site}:workers") < workers:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            break
        time.sleep(0.2)
    seconds, micros = client.time()
    started = float(seconds) + micros / 1e6
    client.delete(f"newsarchive:{site}:paused")
    codes = [p.wait() for p in procs]
    if any(codes):
        errors = " | ".join((out / f"worker{i}.err").read_text(errors="replace")[-300:]
                            for i, c in enumerate(codes) if c)
        raise SystemExit(f"a worker failed: exit codes {codes}: {errors}")
    times = []
    for line in (out / "logs" / "crawl.log").read_text().splitlines():
        fields = line.split()
        if len(fields) > 6 and fields[6] in ("response", "revisit"):
            times.append(datetime.fromisoformat(fields[0].replace("Z", "+00:00")).timestamp())
    span = max(times) - started if times else 0.0
    times.sort()
    lo, hi = len(times) // 10, len(times) * 9 // 10
    steady = (hi - lo) / (times[hi] - times[lo]) if len(times) >= 10 and times[hi] > times[lo] else 0.0
    return (len(times) / span if span > 0 else 0.0), steady, len(times)


def main() -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1500)
    parser.add_argument("--latency", type=float, default=200.0, help="ms per response")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-worker", type=int, default=4, help="requests in flight per worker")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="na-distributed-"))
    site, url = start_demo_site(args.articles, "--latency", str(args.latency))
    server, frontier = start_redis(tmp)
    rates: dict[int, list[float]] = {n: [] for n in args.workers}
    steadies: dict[int, list[float]] = {n: [] for n in args.workers}
    load_before = os.getloadavg()
    try:
        for r in range(args.rounds):
            order = args.workers[r % len(args.workers):] + args.workers[:r % len(args.workers)]
            for n in order:
                out = tmp / f"r{r}-w{n}"
                rate, steady, pages = crawl_rate(url, frontier, out, n, args.per_worker)
                rates[n].append(rate)
                steadies[n].append(steady)
                print(f"round {r + 1}: {n} worker(s): {pages} responses, {rate:.1f} pages/s "
                      f"(steady {steady:.1f}), load {os.getloadavg()[0]:.1f}", flush=True)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        site.terminate()
        server.terminate()
        shutil.rmtree(tmp, ignore_errors=True)
    base = statistics.median(rates[args.workers[0]])
    base_steady = statistics.median(steadies[args.workers[0]])
    print(f"\ndemo site: {args.articles} articles, {args.latency:g} ms per response; "
          f"{args.per_worker} requests in flight per worker; median of {args.rounds} rounds; "
          f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"{'workers':>8} {'pages/s':>9} {'scaling':>8} {'ideal':>6} {'steady':>8} {'scaling':>8}")
    for n in args.workers:
        median = statistics.median(rates[n])
        steady = statistics.median(steadies[n])
        print(f"{n:>8} {median:>9.1f} {median / base if base else 0:>7.2f}x "
              f"{n / args.workers[0]:>5.1f}x {steady:>8.1f} "
              f"{steady / base_steady if base_steady else 0:>7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
