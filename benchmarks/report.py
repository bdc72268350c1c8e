"""Crawl report generation time and memory on a 20,000-capture collection.

Builds a real collection by crawling the demo site once, then multiplies it:
its WARC file, CDXJ index and sidecar file are copied under new names (the
index lines and sidecars re-pointed at the copy), the catalog is built from
them, ``logs/crawl.log`` gets one Heritrix-style line per capture (some
failures, robots.txt refusals and truncations among them), and one run's
summary names every WARC file. Then, in child processes and alternating
which goes first:

- ``newsarchive report COLLECTION`` (what a user runs; the same as the end of
  a crawl), interpreter start included;
- the baseline: the least any report must do, in a bare child: one DuckDB
  scan of the catalog grouped by status, MIME and host, reading crawl.log
  line by line, and decompressing every sidecar file.

It prints each side's median seconds and peak RSS (VmHWM) and the ratio.
The target is under 10 s for 20,000 captures.

Usage: .venv/bin/python benchmarks/report.py [--captures 20000] [--rounds 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEWSARCHIVE = str(ROOT / ".venv" / "bin" / "newsarchive")

BASELINE = r"""
import gzip, sys, time, duckdb
from pathlib import Path
root = Path(sys.argv[1])
start = time.monotonic()
con = duckdb.connect()
parts = [str(p) for p in root.glob("catalog/**/*.parquet")]
con.execute(f"CREATE VIEW c AS SELECT * FROM read_parquet({parts!r})")
for col in ("status", "mime", "host", "record_type"):
    con.execute(f"SELECT {col}, count(*), sum(warc_length) FROM c GROUP BY 1").fetchall()
lines = sum(1 for _ in open(root / "logs" / "crawl.log", encoding="utf-8"))
size = 0
for p in sorted((root / "sidecars").glob("*.gz")):
    with gzip.open(p, "rb") as fh:
        size += len(fh.read())
print(time.monotonic() - start, lines, size)
"""


def _measure(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MB) of a child (wait4's rusage).

    CPU seconds are printed beside wall time because on a shared machine (load 8 on
    2 cores) wall time mostly measures the queue for a core."""
    import os

    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        assert proc.stderr is not None
        raise SystemExit(f"{cmd[:3]} failed: {proc.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def crawl_seed(work: Path) -> Path:
    seed = work / "seed"
    done = subprocess.run([NEWSARCHIVE, "demo", "--out", str(seed), "--port", "0", "--json"],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return seed


def _heritrix_line(i: int, url: str, when: float, rng_status: int) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{i % 1000:03d}Z"
    fetch = time.strftime("%Y%m%d%H%M%S", time.gmtime(when)) + "000"
    if rng_status == 0:
        return f"{stamp} -4 - {url} L - - #001 {fetch}+60000 - - err=timeout,reason=read-timeout"
    if rng_status == 1:
        return f"{stamp} -9998 - {url} L - - #002 - - - robots"
    annotation = "lenTrunc" if rng_status == 2 else "-"
    return (f"{stamp} 200 {2000 + i % 50000} {url} L - text/html #003 "
            f"{fetch}+{20 + (i * 37) % 3000} sha1:X - {annotation}")


def multiply(seed: Path, dest: Path, captures: int) -> int:
    """A collection of about ``captures`` captures made of copies of the seed's files."""
    from newsarchive.index.catalog import build_part

    warc = next((seed / "warc").glob("*.warc.gz"))
    index = seed / "indexes" / (warc.name.removesuffix(".warc.gz") + ".cdxj")
    sidecar = next((seed / "sidecars").glob("*.sidecars.jsonl.gz"))
    lines = [ln for ln in index.read_text().splitlines() if ln and not ln.startswith("!")]
    per_copy = sum(1 for ln in lines if '"url": "urn:' not in ln)
    copies = max(1, round(captures / per_copy))
    sidecars = [json.loads(ln) for ln in gzip.open(sidecar, "rt", encoding="utf-8")]
    for folder in ("warc", "indexes", "sidecars", "logs", "reports", "state"):
        (dest / folder).mkdir(parents=True, exist_ok=True)
    shutil.copy(seed / "state" / "crawl.sqlite", dest / "state" / "crawl.sqlite")
    names, t0 = [], time.time() - copies * per_copy * 0.02
    with open(dest / "logs" / "crawl.log", "w", encoding="utf-8") as log:
        for n in range(copies):
            name = warc.name.replace("-00001-", f"-{n + 1:05d}-")
            names.append(str(dest / "warc" / name))
            shutil.copy(warc, dest / "warc" / name)
            idx = dest / "indexes" / (name.removesuffix(".warc.gz") + ".cdxj")
            idx.write_text("\n".join(ln.replace(warc.name, name) for ln in lines) + "\n")
            side = dest / "sidecars" / (name.removesuffix(".warc.gz") + ".sidecars.jsonl.gz")
            with open(side, "wb") as out:
                for sc in sidecars:
                    sc["capture"]["warc_filename"] = name
                    out.write(gzip.compress(json.dumps(sc).encode() + b"\n", 6))
            build_part(str(idx), str(side), dest / "catalog", dest.name, name)
            for i, ln in enumerate(lines):
                url = json.loads(ln.split(" ", 2)[2])["url"]
                k = n * per_copy + i
                log.write(_heritrix_line(k, url, t0 + k * 0.02, k % 97) + "\n")
    end = t0 + copies * per_copy * 0.02
    summary = {
        "out": str(dest), "pages": copies * per_copy, "errors": copies * per_copy // 97,
        "responses": copies * per_copy, "revisits": 0, "sidecars": copies * len(sidecars),
        "robots_forbidden": copies * per_copy // 97, "warc_files": names,
        "warc_bytes": copies * warc.stat().st_size, "elapsed": end - t0,
        "finish_reason": "finished", "error": None, "status": "finished", "exit_code": 0,
        "run_id": "20260101T000000Z",
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t0 - 1)),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(end + 1)),
    }
    (dest / "reports" / "20260101T000000Z.json").write_text(json.dumps(summary))
    return copies * per_copy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--captures", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the collection here and keep it")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="newsarchive-bench-report-"))
    dest = (args.keep or work) / "big"
    try:
        if not (dest / "catalog").is_dir():
            made = multiply(crawl_seed(work), dest, args.captures)
        else:
            made = json.loads((dest / "reports" / "20260101T000000Z.json").read_text())["pages"]
        print(f"collection: {made} captures in {len(list((dest / 'warc').glob('*.gz')))} WARC files")
        out = dest / "reports" / "bench.html"
        sides = {
            "newsarchive report": [NEWSARCHIVE, "report", str(dest), "--out", str(out)],
            "baseline (scan inputs)": [sys.executable, "-c", BASELINE, str(dest)],
        }
        results: dict[str, list[tuple[float, float, float]]] = {k: [] for k in sides}
        order = list(sides)
        for r in range(args.rounds):
            for name in order if r % 2 == 0 else order[::-1]:
                results[name].append(_measure(sides[name]))
        print(f"{'side':<24} {'median wall s':>13} {'median CPU s':>12} {'peak MB':>8}")
        med, cpu = {}, {}
        for name, runs in results.items():
            med[name] = statistics.median(r[0] for r in runs)
            cpu[name] = statistics.median(r[1] for r in runs)
            print(f"{name:<24} {med[name]:13.2f} {cpu[name]:12.2f} {max(r[2] for r in runs):8.0f}")
        report, base = "newsarchive report", "baseline (scan inputs)"
        print(f"report / baseline: {med[report] / med[base]:.2f}x wall, "
              f"{cpu[report] / cpu[base]:.2f}x CPU; target: report under 10 s for {made} captures "
              f"(wall {med[report]:.1f} s, CPU {cpu[report]:.1f} s)")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
