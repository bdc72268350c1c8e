"""What bounded extraction costs: pages through the worker process vs in this process.

Extracts the same pages (the test fixtures in ``tests/data/extract`` and the
Yahoo wire story, repeated) with :func:`newsarchive.extract.extract_sidecar`
in this process (the baseline) and with a
:class:`~newsarchive.extract.bounded.BoundedExtractor` (pickled over a pipe to
a worker that is watched for time and memory), alternating rounds, and prints
the median pages/s of each and their ratio, plus the worker's peak RSS.

Usage: .venv/bin/python benchmarks/bounded.py [--pages 200] [--rounds 5]

Measured here (2 cores at load 25-33, so noisy): 120 pages x 5 rounds,
in-process 15.3 pages/s, bounded 13.3 pages/s (0.87x); the worker's peak RSS
74 MB. The cost is the parent's wake-ups to watch the worker's memory
(``WATCH_EVERY``) and the pickling; checking every 20 ms instead of 50 ms
measured 0.75x.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pages() -> list[tuple[str, bytes]]:
    found = sorted((ROOT / "tests" / "data" / "extract").glob("*.html"))
    found += [ROOT / "tests" / "data" / "wire-story" / "yahoo.html"]
    return [(f"http://bench.example/{p.name}", p.read_bytes()) for p in found]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from newsarchive.extract import extract_sidecar
    from newsarchive.extract.bounded import BoundedExtractor, Limits, extraction_error

    corpus = pages()
    work = [corpus[i % len(corpus)] for i in range(args.pages)]
    bounded = BoundedExtractor(Limits())
    bounded.extract(*reversed(work[0]))  # started and warm
    extract_sidecar(work[0][1], work[0][0])
    rates: dict[str, list[float]] = {"in-process": [], "bounded": []}
    for _ in range(args.rounds):
        for name in rates:
            start = time.perf_counter()
            for url, body in work:
                if name == "bounded":
                    assert extraction_error(bounded.extract(body, url)) is None
                else:
                    extract_sidecar(body, url)
            rates[name].append(len(work) / (time.perf_counter() - start))
    worker_rss = peak_rss_mb(bounded._proc.pid) if bounded._proc else 0.0
    bounded.close()
    base, bound = statistics.median(rates["in-process"]), statistics.median(rates["bounded"])
    print(f"pages: {len(work)} x {args.rounds} rounds ({len(corpus)} distinct)")
    print(f"in-process (baseline)  {base:7.1f} pages/s")
    print(f"bounded worker         {bound:7.1f} pages/s   ratio {bound / base:.2f}x")
    print(f"worker peak RSS        {worker_rss:7.1f} MB")


if __name__ == "__main__":
    main()
