"""Export throughput and memory: synthetic sidecars to Parquet (and JSONL), vs a baseline.

Writes a collection of N synthetic sidecars (realistic sizes: ~4 KB of story
text, ads, related links; gzip member per line, like the crawl writes them)
with a CDXJ index per file, and builds its catalog with the indexer's own code
(``build_part``, as the crawl does when a WARC closes; that time is printed,
not counted: export reads the catalog's stored export rows). Then runs
``newsarchive export`` in child processes and reports rows/s and each child's
peak RSS (VmHWM). The baseline is the same export run by the code of
``--baseline-rev`` (default: the last commit before the Arrow engine, which
built a Python dict per row from the sidecar files), checked out with ``git
archive`` into a temporary folder and run by the same interpreter, in the same
run: rounds alternate which side goes first, and medians are reported. Two
sizes show whether memory grows with the row count (it must not).
``--no-catalog`` measures the export that parses every sidecar file.

Usage: .venv/bin/python benchmarks/export.py [--rows 50000 200000] [--rounds 2]
       [--formats parquet jsonl] [--baseline-rev REV | --no-baseline] [--no-catalog]
       [--keep DIR]

Results are in README.md (Benchmarks).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("council budget river election minister harbour strike vaccine court coalition "
         "storm market rail school energy wage border treaty police festival").split()


_POOL = [" ".join(random.Random(k).choices(WORDS, k=40 + k % 50)).capitalize() + "."
         for k in range(500)]


def sidecar(i: int, rng: random.Random) -> dict[str, object]:
    paragraphs = rng.sample(_POOL, rng.randint(5, 12))  # ~4 KB of story text
    text = "\n\n".join(paragraphs)
    host = f"site{i % 40}.example.com"
    return {
        "schema": "newsarchive.sidecar/1", "url": f"https://{host}/news/{i}.html",
        "canonical_url": None, "title": f"Story {i}: {' '.join(rng.sample(WORDS, 6))}",
        "authors": [f"Reporter {i % 97}"], "publisher": "Wire", "language": rng.choice(["en", "en-US", "de"]),
        "published": f"2026-0{1 + i % 9}-{1 + i % 28:02d}T10:00:00+00:00", "modified": None,
        "dateline": None, "is_article": True, "text": text, "paragraphs": paragraphs,
        "fingerprint": f"{rng.getrandbits(64):016x}",
        "ads": [{"text": "ADVERTISEMENT", "position": 2, "href": None}],
        "related": [{"title": f"Related {j}", "url": f"https://{host}/news/{j}.html",
                     "summary": None, "section": "More"} for j in range(i, i + 4)],
        "capture": {"warc_filename": f"bench-{i // 20000:05d}.warc.gz", "offset": i * 9000,
                    "length": 9000, "record_id": f"<urn:uuid:{i:08d}-0000-4000-8000-000000000000>",
                    "payload_digest": "sha1:X", "fetched_at": "2026-05-01T12:00:00.000000Z"},
        "extractor": {"name": "bench", "version": "0"},
    }


def make_file(folder: Path, rows: int, start: int, stop: int, catalog: bool) -> float:
    """Sidecars ``start``..``stop`` in their own file, a CDXJ index of them and (with
    ``catalog``) its catalog part built by the indexer's own code; the seconds that took."""
    rng = random.Random(f"{rows}:{start}")
    stem = f"bench-{start // PER_FILE:05d}"
    with open(folder / "sidecars" / f"{stem}.sidecars.jsonl.gz", "wb") as fh, \
            open(folder / "indexes" / f"{stem}.cdxj", "w") as cdxj:
        for i in range(start, stop):
            sc = sidecar(i, rng)
            line = json.dumps(sc, separators=(",", ":")) + "\n"
            fh.write(gzip.compress(line.encode(), compresslevel=1))
            cap = sc["capture"]
            cdxj.write(f"com,example,site{i % 40})/news/{i}.html 20260501120000 " + json.dumps(
                {"url": sc["url"], "mime": "text/html", "status": "200", "digest": "X",
                 "length": str(cap["length"]), "offset": str(cap["offset"]),
                 "filename": cap["warc_filename"]}) + "\n")
    if not catalog:
        return 0.0
    sys.path.insert(0, str(ROOT))
    from newsarchive.index.catalog import build_part

    t = time.perf_counter()
    build_part(str(folder / "indexes" / f"{stem}.cdxj"),
               str(folder / "sidecars" / f"{stem}.sidecars.jsonl.gz"),
               folder / "catalog", folder.name, f"{stem}.warc.gz")
    return time.perf_counter() - t


PER_FILE = 20_000


def make_collection(folder: Path, rows: int, catalog: bool = True) -> float:
    """A collection folder with ``rows`` sidecars, :data:`PER_FILE` a file (and one tiny
    stand-in WARC), and with ``catalog`` a CDXJ index per WARC and the catalog built
    from it by the indexer's own code, one process per file; returns the seconds the
    catalog parts took, summed."""
    from concurrent.futures import ProcessPoolExecutor

    for sub in ("sidecars", "warc", "indexes"):
        (folder / sub).mkdir(parents=True)
    (folder / "warc" / "bench-00000.warc.gz").write_bytes(gzip.compress(b""))
    with ProcessPoolExecutor(max_workers=4) as pool:
        jobs = [pool.submit(make_file, folder, rows, start, min(rows, start + PER_FILE), catalog)
                for start in range(0, rows, PER_FILE)]
        return sum(job.result() for job in jobs)


MEASURE = """
import resource, sys, time
from newsarchive.cli.main import main
t = time.perf_counter()
code = main(sys.argv[1:])
elapsed = time.perf_counter() - t
hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))
ru = resource.getrusage(resource.RUSAGE_SELF)
print(f'{elapsed} {hwm} {ru.ru_utime + ru.ru_stime}', file=sys.stderr)
sys.exit(code)
"""


def baseline_tree(rev: str, dest: Path) -> Path:
    """The ``newsarchive`` package of commit ``rev``, extracted under ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "newsarchive"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def run_export(folder: Path, fmt: str, out: Path, code: Path = ROOT) -> tuple[float, float, float]:
    """Seconds, peak RSS (MB) and CPU seconds (all threads, imports included) of one export
    in a fresh process, by the code under ``code``."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, "export", str(folder), "--format", fmt,
         "--out", str(out), "--quiet"],
        capture_output=True, text=True, cwd=code, check=False, env=env,
    )
    if proc.returncode != 0:
        raise SystemExit(f"export failed: {proc.stderr[-1500:]}")
    elapsed, hwm_kb, cpu = proc.stderr.strip().splitlines()[-1].split()
    return float(elapsed), int(hwm_kb) / 1024, float(cpu)


def main() -> int:
    """Generate, export with both codes in alternating rounds, report medians."""
    import statistics

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[50_000, 200_000])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--formats", nargs="+", default=["parquet"],
                        choices=["parquet", "jsonl", "csv"])
    parser.add_argument("--baseline-rev", default="6de575c",
                        help="git commit whose export is the baseline (default: before the "
                        "Arrow engine)")
    parser.add_argument("--no-baseline", action="store_true", help="measure this code only")
    parser.add_argument("--no-catalog", action="store_true",
                        help="no catalog: export parses every sidecar file")
    parser.add_argument("--keep", type=Path, help="generate collections here and keep them")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="newsarchive-bench-"))
    sides = {"newsarchive": ROOT}
    results: dict[tuple[str, int, str], list[tuple[float, float, float]]] = {}
    try:
        if not args.no_baseline:
            sides["baseline"] = baseline_tree(args.baseline_rev, base / "baseline-code")
        for n in args.rows:
            folder = base / f"bench{n}"
            if not folder.exists():
                t = time.perf_counter()
                cat = make_collection(folder, n, catalog=not args.no_catalog)
                print(f"generated {n:,} sidecars in {time.perf_counter() - t:.1f} s, of which "
                      f"the catalog parts (the indexer's work, once per WARC) {cat:.1f} s "
                      "(summed over the files)", file=sys.stderr)
            for rnd in range(args.rounds):
                order = list(sides) if rnd % 2 == 0 else list(reversed(sides))
                for fmt in args.formats:
                    for side in order:
                        out = base / f"out{n}.{fmt}"
                        secs, peak, cpu = run_export(folder, fmt, out, sides[side])
                        out.unlink()
                        results.setdefault((side, n, fmt), []).append((n / secs, peak, n / cpu))
                        print(f"round {rnd + 1} {side:<11} {n:>9,} rows {fmt:<8} "
                              f"{n / secs:>9,.0f} rows/s  {n / cpu:>9,.0f} rows/CPU-s  "
                              f"peak RSS {peak:7.1f} MB", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    print("\nmedians:")
    for fmt in args.formats:
        for n in args.rows:
            line = []
            for side in sides:
                runs = results[(side, n, fmt)]
                rate = statistics.median(r for r, _, _ in runs)
                peak = statistics.median(p for _, p, _ in runs)
                per_cpu = statistics.median(c for _, _, c in runs)
                line.append((side, rate, peak, per_cpu))
                print(f"  {fmt:<8} {n:>9,} rows  {side:<11} {rate:>9,.0f} rows/s  "
                      f"{per_cpu:>9,.0f} rows/CPU-s  peak RSS {peak:7.1f} MB")
            if len(line) == 2:
                print(f"  {fmt:<8} {n:>9,} rows  ratio newsarchive/baseline "
                      f"{line[0][1] / line[1][1]:.2f}x (wall), "
                      f"{line[0][3] / line[1][3]:.2f}x (CPU)")
        for side in sides:
            peaks = [statistics.median(p for _, p, _ in results[(side, n, fmt)])
                     for n in args.rows]
            if len(peaks) > 1:
                print(f"  {fmt:<8} {side}: peak RSS at {args.rows[-1]:,} rows / at "
                      f"{args.rows[0]:,} rows = {peaks[-1] / peaks[0]:.2f}x (flat memory: ~1.0x)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
