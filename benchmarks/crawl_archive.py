#!/usr/bin/env python3
"""What archiving costs a crawl: pages/s and peak RSS with WARC capture on and off.

Serves the demo news site (``newsarchive demo-site``) in its own process, then
crawls it from its sitemaps several times, alternating three configurations:

* ``plain``    Scrapy alone (``crawl --no-archive``): the baseline;
* ``warc``     WARC capture (``crawl --no-sidecars``);
* ``warc+sidecars``  capture and sidecar extraction (the default crawl).

Each crawl is a fresh process, as a user runs it. Prints a table and the
ratio of each configuration's rate to the baseline. Target (issue #2):
capture costs at most 15% of plain Scrapy's throughput (ratio >= 0.85).

usage: .venv/bin/python benchmarks/crawl_archive.py [--articles 2000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).with_name("newsarchive")
CONFIGS = {
    "plain": ["--no-archive"],
    "warc": ["--no-sidecars"],
    "warc+sidecars": [],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_site(articles: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN), "demo-site", "--port", str(port), "--articles", str(articles)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "robots.txt", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("demo site did not start")


def crawl(url: str, extra: list[str], out: Path) -> dict:
    done = subprocess.run(
        [str(BIN), "crawl", url, "--out", str(out), "--json", "--depth", "1", *extra],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    site, url = start_site(args.articles)
    results: dict[str, list[dict]] = {name: [] for name in CONFIGS}
    try:
        for round_ in range(args.rounds):
            for name, extra in CONFIGS.items():
                out = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
                try:
                    summary = crawl(url, extra, out)
                finally:
                    shutil.rmtree(out, ignore_errors=True)
                results[name].append(summary)
                print(
                    f"round {round_ + 1} {name:<14} {summary['pages']} pages "
                    f"{summary['pages_per_second']:.1f} pages/s",
                    file=sys.stderr,
                )
    finally:
        site.terminate()
        site.wait()
    base = statistics.median(r["pages_per_second"] for r in results["plain"])
    print(f"\ncrawl of the demo site ({args.articles} articles), median of {args.rounds} rounds,"
          f" {os.cpu_count()} CPUs")
    print(f"{'config':<15} {'pages':>6} {'pages/s':>8} {'MB/s':>6} {'peak RSS MB':>11} {'vs plain':>8}")
    for name, runs in results.items():
        rate = statistics.median(r["pages_per_second"] for r in runs)
        mbps = statistics.median(r["bytes"] / 1e6 / r["elapsed"] for r in runs)
        rss = max(r["peak_rss_mb"] for r in runs)
        pages = runs[-1]["pages"]
        print(f"{name:<15} {pages:>6} {rate:>8.1f} {mbps:>6.2f} {rss:>11.1f} {rate / base:>8.2f}")
    warc_ratio = statistics.median(r["pages_per_second"] for r in results["warc"]) / base
    print(f"\nWARC capture keeps {warc_ratio:.0%} of plain Scrapy's throughput (target >= 85%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
