"""What ``extract --jobs 2`` gains over ``--jobs 1``: one big WARC file, and a folder of pages.

Builds, in a temporary folder, a WARC of real news pages (a request and a
response record per page: the pages of ``../shared/extraction-bench`` and its
``trafeval-dev`` set, read from there and never committed, repeated under
distinct URLs up to ``--mb`` MB; the demo site's articles with ``--pages demo``)
and a folder of ``--html`` saved pages, then runs ``newsarchive
extract`` on each with ``--jobs 1`` and ``--jobs 2`` as a user would, in child
processes, alternating which goes first, ``--rounds`` times. It prints per
run the wall time and the CPU seconds (user + system) of the whole process
tree, then the medians and the ratio ``--jobs 1`` / ``--jobs 2`` (wall time:
the gain; CPU: what the parts cost beyond one read). It also checks that
both write the same sidecar files.

On a machine shared with other work, wall time measures the queue for a core
as much as the work: read the CPU seconds beside it and say how loaded the
machine was (the load average is printed).

CPU seconds count every process of the tree: this process becomes their
subreaper, so workers orphaned by a pool process are reaped (and counted) here.

Building a 500 MB WARC takes minutes that are no measurement: ``--workdir DIR``
keeps the inputs in DIR and reuses them on the next run (built only when
missing), and ``--build-only`` stops once they are built, so the build can run
niced and only the measurement under the benchmark lock.

Usage: .venv/bin/python benchmarks/extract_jobs.py [--mb 500] [--html 400] [--rounds 3]
       [--only warc|html] [--pages real|demo] [--workdir DIR [--build-only]]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import BIN, run_measured  # noqa: E402

from newsarchive.capture import records  # noqa: E402
from newsarchive.capture.exchange import Exchange  # noqa: E402
from newsarchive.capture.writer import gzip_member  # noqa: E402
from newsarchive.demosite.site import SiteModel  # noqa: E402

WHEN = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)


def demo_pages(count: int = 300) -> list[tuple[str, bytes]]:
    """(URL, HTML) of the demo site's article pages, every template."""
    site = SiteModel("http://news.example", base_count=count)
    pages = []
    for article in site.articles:
        route = site.route(article.path)
        if route is None:
            raise SystemExit(f"demo site has no route for its article {article.path}")
        pages.append((site.ctx.url(article.path), site.body(route)))
    return pages


#: real pages: the extraction benchmark's set and trafilatura's evaluation set
REAL_SETS = (Path(__file__).resolve().parents[2] / "shared" / "extraction-bench" / "html",
             Path(__file__).resolve().parents[2] / "shared" / "extraction-bench" / "trafeval-dev"
             / "pages")


def real_pages() -> list[tuple[str, bytes]]:
    """(URL, HTML) of the real pages in :data:`REAL_SETS`, each under its own URL."""
    pages = []
    for folder in REAL_SETS:
        for path in sorted(folder.glob("*.html.gz")):
            name = path.name.removesuffix(".html.gz")
            pages.append((f"http://{folder.parent.name}.example/{name}",
                          gzip.decompress(path.read_bytes())))
    if not pages:
        raise SystemExit(f"no pages in {', '.join(map(str, REAL_SETS))}")
    return pages


def build_warc(path: Path, pages: list[tuple[str, bytes]], megabytes: float) -> int:
    """Write a WARC of about ``megabytes`` MB; returns its page count."""
    target, written, count = megabytes * 1e6, 0, 0
    with open(path, "wb") as fh:
        written += fh.write(gzip_member(records.warcinfo_record(path.name, {"software": "bench"},
                                                                WHEN), 6))
        while written < target:
            url, body = pages[count % len(pages)]
            url = f"{url}?copy={count // len(pages)}"
            ex = Exchange(url=url, method="GET", request_headers=[(b"User-Agent", b"bench")],
                          status=200, response_headers=[(b"Content-Type", b"text/html")],
                          body=body, fetched_at=WHEN)
            rid = records.new_record_id()
            written += fh.write(gzip_member(records.response_record(
                ex, rid, records.sha1_digest(body)), 6))
            written += fh.write(gzip_member(records.request_record(ex, rid), 6))
            count += 1
    return count


def build_folder(folder: Path, pages: list[tuple[str, bytes]], count: int) -> None:
    folder.mkdir()
    for i in range(count):
        (folder / f"page{i:05d}.html").write_bytes(pages[i % len(pages)][1])


def same_outputs(a: Path, b: Path) -> bool:
    """The same sidecars in the same order (JSON Lines and .json files, byte for byte)."""
    def content(folder: Path) -> list[bytes]:
        out = []
        for p in sorted(folder.iterdir()):
            if p.name.endswith(".jsonl.gz"):
                # streamed: gzip.decompress copies the rest of the data at each of
                # the file's members (one per line), quadratic at 16,000 members
                digest = hashlib.sha256()
                with gzip.open(p, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        digest.update(chunk)
                out.append(digest.digest())
            elif p.suffix in (".json", ".txt"):
                out.append(p.read_bytes())
        return out

    return content(a) == content(b)


@contextlib.contextmanager
def workdir(given: str | None) -> Iterator[Path]:
    """``--workdir`` (kept), or a temporary folder removed at the end."""
    if given is not None:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp:
        yield Path(tmp)


def build_inputs(work: Path, args: argparse.Namespace) -> tuple[Path, Path]:
    """The WARC and the HTML folder in ``work``; reused when a finished build of the
    same kind is there (its description in ``inputs.txt``, written last)."""
    warc, folder, done = work / "big.warc.gz", work / "html", work / "inputs.txt"
    wanted = f"mb={args.mb:g} html={args.html} pages={args.pages}"
    if done.exists() and done.read_text().split("\n")[0] == wanted:
        print(f"inputs reused from {work}: {done.read_text().strip()}", flush=True)
        return warc, folder
    done.unlink(missing_ok=True)
    pages = real_pages() if args.pages == "real" else demo_pages()
    count = build_warc(warc, pages, args.mb)
    if folder.exists():
        for old in folder.iterdir():
            old.unlink()
        folder.rmdir()
    build_folder(folder, pages, args.html)
    done.write_text(f"{wanted}\nWARC: {warc.stat().st_size / 1e6:.0f} MB, {count} pages; "
                    f"HTML folder: {args.html} pages\n")
    print(f"inputs built in {work}: {done.read_text().strip()}", flush=True)
    return warc, folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=500.0, help="size of the WARC (MB)")
    parser.add_argument("--html", type=int, default=400, help="pages in the HTML folder")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("warc", "html"), default=None,
                        help="measure one input kind only")
    parser.add_argument("--pages", choices=("real", "demo"), default="real",
                        help="real news pages (../shared/extraction-bench) or demo-site articles")
    parser.add_argument("--workdir", default=None, metavar="DIR",
                        help="keep the inputs here and reuse them (default: a temporary folder)")
    parser.add_argument("--build-only", action="store_true",
                        help="build the inputs in --workdir and stop (no measurement)")
    args = parser.parse_args()
    if args.build_only and args.workdir is None:
        parser.error("--build-only needs --workdir")
    with workdir(args.workdir) as work:
        warc, folder = build_inputs(work, args)
        if args.build_only:
            return 0
        print(f"{os.cpu_count()} cores; load average at the start: {os.getloadavg()[0]:.1f}",
              flush=True)
        inputs = {"warc": str(warc), "html": str(folder)}
        if args.only:
            inputs = {args.only: inputs[args.only]}
        results: dict[tuple[str, int], list[tuple[float, float]]] = {}
        for rnd in range(args.rounds):
            for kind, source in inputs.items():
                order = (1, 2) if rnd % 2 == 0 else (2, 1)
                for jobs in order:
                    out = work / f"out-{kind}-{jobs}"
                    run = run_measured([str(BIN), "extract", source, "--out", str(out),
                                        "--jobs", str(jobs), "--quiet"])
                    if run.returncode not in (0, 1):
                        raise SystemExit(f"extract --jobs {jobs} {kind} failed ({run.returncode})")
                    results.setdefault((kind, jobs), []).append((run.wall, run.cpu))
                    print(f"round {rnd + 1} {kind} --jobs {jobs}: {run.wall:.1f} s wall, "
                          f"{run.cpu:.1f} CPU-s, peak RSS {run.peak_rss / 2**20:.0f} MiB, "
                          f"load {os.getloadavg()[0]:.1f}", flush=True)
                same = same_outputs(work / f"out-{kind}-1", work / f"out-{kind}-2")
                if not same:
                    raise SystemExit(f"{kind}: --jobs 2 wrote other sidecars than --jobs 1")
                for jobs in (1, 2):
                    for p in (work / f"out-{kind}-{jobs}").iterdir():
                        p.unlink()
        for kind in inputs:
            w1, w2 = (statistics.median(w for w, _ in results[(kind, j)]) for j in (1, 2))
            c1, c2 = (statistics.median(c for _, c in results[(kind, j)]) for j in (1, 2))
            print(f"{kind}: --jobs 1 {w1:.1f} s wall {c1:.1f} CPU-s; --jobs 2 {w2:.1f} s wall "
                  f"{c2:.1f} CPU-s; speed-up {w1 / w2:.2f}x wall, CPU ratio {c2 / c1:.2f}")
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
