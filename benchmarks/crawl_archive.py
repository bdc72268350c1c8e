#!/usr/bin/env python3
"""What archiving costs a crawl, against a plain Scrapy spider doing the same walk.

Serves the demo news site (``newsarchive demo-site``) in its own process and
crawls it, each crawl a fresh process as a user runs it, in these
configurations:

* ``scrapy``         the baseline: ``benchmarks/plain_spider.py``, stock Scrapy
                     settings but the same concurrency and link-following rule;
* ``no-archive``     newsarchive's crawl without capture (``--no-archive``);
* ``warc``           WARC capture (``--no-sidecars``);
* ``warc-no-report`` WARC capture without the end-of-crawl report
                     (``--no-sidecars --no-report``): the report's share of
                     ``warc``, a fixed cost per run (mostly vl-convert's chart
                     engine, ~1.5 CPU-s), apart from capture's cost per page;
* ``warc+sidecars``  the default crawl (capture and sidecar extraction);
* ``warc-before``    (``--before DIR``) WARC capture run from another checkout
                     of newsarchive (its ``newsarchive`` and ``spiders`` first on
                     ``PYTHONPATH``), e.g. ``git worktree add DIR OLD``: a change
                     measured against its base in the same rounds;

and, once per round when the default crawl is measured too, ``extract``:
standalone sidecar extraction of the WARC the ``warc`` crawl wrote (what the
default crawl adds, done apart).

Rounds rotate the order of the configurations. For each one it prints the
median pages/s, CPU ms per page of the whole process tree, peak RSS of the
tree, the seconds from the last page fetched to the crawl's exit (its serial
end: closing the files, index, catalog part, report; newsarchive's crawls only,
read from the time of the last fetch in ``crawl.log``), and the ratios the
targets are stated in: capture's CPU per page against
plain Scrapy's; the default crawl's CPU per page against capture + standalone
extraction; the default crawl's wall-clock rate against plain Scrapy's.

The measured code is byte-compiled first (``compileall``), as installing a
package does: with ``PYTHONDONTWRITEBYTECODE`` set (as in the development
VM's shells) a source checkout would otherwise be compiled again by every
crawl (~0.3 CPU-s of its start), while Scrapy and the other installed
packages the baseline runs on load their compiled files.

``--configs`` picks the configurations (default: those the targets need;
``no-archive`` and ``warc-no-report`` only on request), so a run fits the
benchmark lock; a ratio is printed when the configurations it needs were
measured (``scrapy,warc`` for capture alone).

usage: .venv/bin/python benchmarks/crawl_archive.py [--articles 2000] [--rounds 3]
       [--configs scrapy,no-archive,warc,warc-no-report,warc+sidecars] [--before DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import BIN, Measured, run_measured, start_demo_site  # noqa: E402

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent  # the newsarchive measured (the venv's editable install of it)
CONCURRENCY = ["-s", "CONCURRENT_REQUESTS=16", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"]
OURS = {
    "no-archive": ["--no-archive"],
    "warc": ["--no-sidecars"],
    "warc-no-report": ["--no-sidecars", "--no-report"],
    "warc+sidecars": [],
}


def byte_compile(checkout: Path) -> None:
    """Compile a checkout's packages and the plain spider, as an install would."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(checkout / "newsarchive"),
                    str(checkout / "spiders"), str(HERE / "plain_spider.py")],
                   check=True, stdout=subprocess.DEVNULL)


def crawl_scrapy(url: str, depth: int, out: Path) -> tuple[Measured, int]:
    """The plain spider; pages = responses Scrapy received (its own stats)."""
    cmd = [sys.executable, "-m", "scrapy", "runspider", str(HERE / "plain_spider.py"),
           "-a", f"url={url}", "-a", f"depth={depth}", *CONCURRENCY,
           "-s", "LOG_LEVEL=WARNING", "-s", "ROBOTSTXT_OBEY=True"]
    # From an empty folder, so Scrapy finds no project (and none of our settings).
    measured = run_measured(cmd, cwd=out)
    if measured.returncode != 0:
        raise SystemExit(f"plain Scrapy crawl failed with exit code {measured.returncode}")
    return measured, int(json.loads(measured.stdout.strip().splitlines()[-1])["pages"])


def crawl_ours(url: str, depth: int, extra: list[str], out: Path,
               checkout: Path | None = None) -> tuple[Measured, int]:
    """``newsarchive crawl`` (from ``checkout`` if given); pages from its ``--json`` summary."""
    env = None if checkout is None else {**os.environ, "PYTHONPATH": str(checkout)}
    measured = run_measured([str(BIN), "crawl", url, "--out", str(out), "--json",
                             "--depth", str(depth), *extra], env=env)
    if measured.returncode not in (0, 1):
        raise SystemExit(f"crawl {extra} failed with exit code {measured.returncode}")
    return measured, int(json.loads(measured.stdout)["pages"])


def end_seconds(collection: Path, measured: Measured) -> float | None:
    """Seconds from the crawl's last fetch (the latest time in its ``crawl.log``) to
    its exit; None without a log."""
    log = collection / "logs" / "crawl.log"
    if not log.is_file():
        return None
    with log.open(encoding="utf-8") as fh:
        stamps = [line.split(" ", 1)[0] for line in fh if line[:1].isdigit()]
    if not stamps:
        return None
    last = max(dt.datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps)
    return measured.ended - last.timestamp()


def extract_apart(collection: Path, out: Path, crawled: int) -> tuple[Measured, int]:
    """``newsarchive extract`` of a crawl's WARC files.

    Its pages are the ``crawled`` pages of that crawl, so that its CPU per page
    is what extraction adds to each crawled page.
    """
    measured = run_measured([str(BIN), "extract", str(collection), "--out", str(out), "--json"])
    if measured.returncode != 0:
        raise SystemExit(f"extract failed with exit code {measured.returncode}")
    return measured, crawled


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--configs", default="scrapy,warc,warc+sidecars",
                        help="comma-separated, of: scrapy, " + ", ".join(OURS))
    parser.add_argument("--before", type=Path,
                        help="also run WARC capture from the newsarchive checked out in DIR")
    args = parser.parse_args()
    names = [n for n in ["scrapy", *OURS] if n in args.configs.split(",")]
    before = args.before.resolve() if args.before else None
    if before:
        if not (before / "newsarchive" / "__init__.py").is_file():
            parser.error(f"--before {before}: no newsarchive checkout there")
        names.append("warc-before")
    if "scrapy" not in names or len(names) < 2:
        parser.error("--configs needs scrapy (the baseline) and at least one of ours")
    apart = {"warc", "warc+sidecars"} <= set(names)  # extract apart only for the budget ratio
    results: dict[str, list[tuple[Measured, int]]] = {n: [] for n in [*names, "extract"]}
    for checkout in [CHECKOUT, *([before] if before else [])]:
        byte_compile(checkout)
    ends: dict[str, list[float]] = {n: [] for n in names}
    site, url = start_demo_site(args.articles)
    try:
        for round_ in range(args.rounds):
            order = names[round_ % len(names):] + names[:round_ % len(names)]
            for name in order:
                out = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
                try:
                    if name == "scrapy":
                        result = crawl_scrapy(url, args.depth, out)
                    elif name == "warc-before":
                        result = crawl_ours(url, args.depth, OURS["warc"], out, before)
                    else:
                        result = crawl_ours(url, args.depth, OURS[name], out)
                        end = end_seconds(out, result[0])
                        if end is not None:
                            ends[name].append(end)
                        if name == "warc" and apart:
                            results["extract"].append(
                                extract_apart(out, out / "sidecars-apart", result[1]))
                finally:
                    shutil.rmtree(out, ignore_errors=True)
                results[name].append(result)
                m, pages = result
                tail = f", end {ends[name][-1]:.1f} s" if ends.get(name) else ""
                print(f"round {round_ + 1} {name:<14} {pages} pages in {m.wall:.1f} s, "
                      f"{1000 * m.cpu / max(pages, 1):.1f} CPU ms/page{tail}", file=sys.stderr)
    finally:
        site.terminate()
        site.wait()

    def rate(name: str) -> float:
        return statistics.median(p / m.wall for m, p in results[name])

    def cpu_ms(name: str) -> float:
        return statistics.median(1000 * m.cpu / max(p, 1) for m, p in results[name])

    print(f"\ncrawl of the demo site ({args.articles} articles, depth {args.depth}), medians of "
          f"{args.rounds} rounds, {os.cpu_count()} CPUs")
    print(f"{'config':<15} {'pages':>6} {'pages/s':>8} {'CPU ms/page':>11} {'peak RSS MB':>11} "
          f"{'end s':>6}")
    for name, runs in results.items():
        if runs:
            rss = max(m.peak_rss for m, _ in runs) / 1e6
            end = f"{statistics.median(ends[name]):>6.1f}" if ends.get(name) else f"{'-':>6}"
            print(f"{name:<15} {runs[-1][1]:>6} {rate(name):>8.1f} {cpu_ms(name):>11.1f} "
                  f"{rss:>11.1f} {end}")
    print()
    if "warc" in names:
        capture = cpu_ms("scrapy") / cpu_ms("warc")
        print(f"WARC capture vs plain Scrapy, by CPU per page: {capture:.2f} (target >= 0.90)")
    if "warc-no-report" in names:
        print(f"WARC capture without its report vs plain Scrapy, by CPU per page: "
              f"{cpu_ms('scrapy') / cpu_ms('warc-no-report'):.2f}")
    if "warc-before" in names:
        print(f"WARC capture from {before} vs plain Scrapy, by CPU per page: "
              f"{cpu_ms('scrapy') / cpu_ms('warc-before'):.2f}")
    if apart:
        budget = (cpu_ms("warc") + cpu_ms("extract")) / cpu_ms("warc+sidecars")
        print(f"default crawl CPU per page vs capture + standalone extract: "
              f"{1 / budget:.2f}x (target <= 1.10x)")
    if "warc+sidecars" in names:
        wall = rate("warc+sidecars") / rate("scrapy")
        print(f"default crawl wall-clock rate vs plain Scrapy: {wall:.2f} (target >= 0.65)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
