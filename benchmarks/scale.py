#!/usr/bin/env python3
"""How a crawl's cost grows with the site: CPU per page, peak memory, re-crawl cost.

For each size (default 1,000, 10,000 and 100,000 articles) it serves the demo
site, runs the default crawl (capture and sidecars) into a new folder, then
crawls the unchanged site again into the same folder (an incremental re-crawl:
only pages due for a re-check are fetched). For both it prints pages, wall
time, CPU ms per page of the whole process tree and the tree's peak RSS; then
the ratios the targets are stated in: peak RSS at the largest size against the
2,000-page scale (run ``--sizes 2000,100000`` for that pair), and the
re-crawl's CPU at the largest size against the one at 10,000 articles.

``--prefill`` measures re-crawls only, where a first crawl of 100,000 pages
would take hours: the crawl state is filled with every article of the site as
just fetched, then the site is crawled twice. The first of these (``read all``)
reads every sitemap, as any re-crawl did before unchanged child sitemaps were
skipped, and checks each listed URL against the state; the second
(``re-crawl``) is the re-crawl of an unchanged site.

usage: .venv/bin/python benchmarks/scale.py [--sizes 1000,10000,100000] [--depth 1] [--prefill]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import BIN, Measured, run_measured, start_demo_site  # noqa: E402


def crawl(url: str, out: Path, depth: int) -> tuple[Measured, int]:
    """One default crawl into ``out``; pages from its ``--json`` summary."""
    measured = run_measured([str(BIN), "crawl", url, "--out", str(out), "--json",
                             "--depth", str(depth)])
    if measured.returncode not in (0, 1):
        raise SystemExit(f"crawl failed with exit code {measured.returncode}")
    return measured, int(json.loads(measured.stdout)["pages"])


def prefill(url: str, out: Path) -> int:
    """Put every page the site's article sitemaps list in ``out``'s crawl state, as
    fetched now (so none is due for a re-check); returns how many."""
    from urllib.request import urlopen

    from newsarchive.discover.canonical import canonical_url
    from newsarchive.discover.sitemaps import iter_sitemap
    from newsarchive.discover.state import CrawlState
    from newsarchive.layout import Layout

    state = CrawlState(Layout(out).crawl_db)
    state.commit_every = 10_000
    now, count = time.time(), 0
    with urlopen(url + "sitemap.xml") as index:
        children = [e.loc for e in iter_sitemap(index.read()) if "articles" in e.loc]
    for child in children:
        with urlopen(child) as fh:
            for entry in iter_sitemap(fh.read()):
                state.record_fetch(canonical_url(entry.loc), kind="article", now=now,
                                   status=200, digest="sha1:PREFILLED")
                count += 1
    state.close()
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="comma-separated article counts (default 1000,10000,100000)")
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--prefill", action="store_true",
                        help="fill the crawl state instead of a first crawl; measure re-crawls")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: dict[int, dict[str, tuple[Measured, int]]] = {}
    for size in sizes:
        site, url = start_demo_site(size)
        out = Path(tempfile.mkdtemp(prefix=f"bench-scale-{size}-"))
        try:
            if args.prefill:
                print(f"{size} articles: {prefill(url, out)} in the crawl state",
                      file=sys.stderr)
                first = "read all"
            else:
                first = "crawl"
            rows[size] = {first: crawl(url, out, args.depth),
                          "re-crawl": crawl(url, out, args.depth)}
        finally:
            site.terminate()
            site.wait()
            shutil.rmtree(out, ignore_errors=True)
        for kind, (m, pages) in rows[size].items():
            print(f"{size} articles, {kind}: {pages} pages in {m.wall:.1f} s", file=sys.stderr)

    print(f"\n{'articles':>9} {'run':<9} {'pages':>7} {'wall s':>8} {'CPU ms/page':>11} "
          f"{'CPU s':>7} {'peak RSS MB':>11}")
    for size, runs in rows.items():
        for kind, (m, pages) in runs.items():
            print(f"{size:>9} {kind:<9} {pages:>7} {m.wall:>8.1f} "
                  f"{1000 * m.cpu / max(pages, 1):>11.1f} {m.cpu:>7.1f} {m.peak_rss / 1e6:>11.1f}")
    small, large = sizes[0], sizes[-1]
    if small != large and not args.prefill:
        rss = rows[large]["crawl"][0].peak_rss / rows[small]["crawl"][0].peak_rss
        print(f"\npeak RSS at {large} vs {small} articles: {rss:.2f}x (target <= 1.10x, 100k vs 2k)")
    if small != large:
        recrawl = rows[large]["re-crawl"][0].cpu / rows[sizes[-2]]["re-crawl"][0].cpu
        print(f"re-crawl CPU at {large} vs {sizes[-2]} articles: {recrawl:.2f}x "
              "(target <= 2x, 100k vs 10k)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
