"""Peak memory of building one WARC's catalog part (``newsarchive index``) as the WARC grows.

For each size it writes a collection of one WARC of N small response records,
80% of them with a sidecar (``export.py``'s synthetic sidecars: ~4 KB of story
text, ads, related links; one gzip member each, offsets matching the WARC), then
runs ``newsarchive index COLLECTION`` (CDXJ index, story clusters, catalog part:
what a crawl does when a WARC closes) in a fresh process, with this code and with
the code of ``--baseline-rev``, in alternating rounds, and prints each run's
peak RSS (VmHWM) and CPU seconds, and whether the catalog parts of both are the
same bytes. Flat memory: the peak must not grow with N.

Usage: .venv/bin/python benchmarks/catalog_memory.py [--sizes 5000 20000 50000]
       [--rounds 1] [--baseline-rev REV | --no-baseline] [--keep DIR]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export import MEASURE, ROOT, baseline_tree, sidecar  # noqa: E402

WARC = "crawl-00000.warc.gz"


def make_collection(folder: Path, n: int) -> None:
    """One WARC of ``n`` response records and its sidecar file (every fifth capture a
    stylesheet without one); capture dates spread over three hours of one day."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    for sub in ("warc", "sidecars"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    rng = random.Random(n)
    stem = WARC.removesuffix(".warc.gz")
    with open(folder / "warc" / WARC, "wb") as wf, \
            open(folder / "sidecars" / f"{stem}.sidecars.jsonl.gz", "wb") as sf:
        writer = WARCWriter(wf, gzip=True)
        for i in range(n):
            host = f"site{i % 40}.example.com"
            article = i % 5 != 4
            url = f"https://{host}/news/{i}.html" if article else f"https://{host}/static/{i}.css"
            body = (f"<html><head><title>Story {i}</title></head><body><p>{'x' * 300}</p>"
                    "</body></html>" if article else "body{}").encode()
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html" if article
                                                   else "text/css")], protocol="HTTP/1.1")
            record = writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers,
                warc_headers_dict={"WARC-Date": f"2026-05-01T{12 + i % 3:02d}:00:00Z"})
            offset = wf.tell()
            writer.write_record(record)
            if article:
                sc = sidecar(i, rng)
                sc["url"] = url
                sc["capture"].update(warc_filename=WARC, offset=offset,  # type: ignore[attr-defined]
                                     length=wf.tell() - offset)
                sf.write(gzip.compress((json.dumps(sc, separators=(",", ":")) + "\n").encode(),
                                       compresslevel=1))


def run_index(folder: Path, code: Path) -> tuple[float, float, bytes]:
    """Peak RSS (MB) and CPU seconds of ``newsarchive index`` by the code under ``code``,
    and the catalog part it wrote."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    proc = subprocess.run([sys.executable, "-c", MEASURE, "index", str(folder), "--json"],
                          capture_output=True, text=True, cwd=code, check=False, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"index failed: {proc.stderr[-1500:]}")
    _elapsed, hwm_kb, cpu = proc.stderr.strip().splitlines()[-1].split()
    part = next((folder / "catalog").rglob("part-*.parquet")).read_bytes()
    return int(hwm_kb) / 1024, float(cpu), part


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 20_000, 50_000])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--baseline-rev", default="2527214",
                        help="git commit whose build is the baseline (default: before the "
                        "export rows were mapped a record batch at a time)")
    parser.add_argument("--no-baseline", action="store_true", help="measure this code only")
    parser.add_argument("--keep", type=Path, help="generate collections here and keep them")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="newsarchive-bench-"))
    sides = {"newsarchive": ROOT}
    try:
        if not args.no_baseline:
            sides["baseline"] = baseline_tree(args.baseline_rev, base / "baseline-code")
        for n in args.sizes:
            folder = base / f"warc{n}"
            if not folder.exists():
                make_collection(folder, n)
            parts = {}
            for rnd in range(args.rounds):
                for side in list(sides) if rnd % 2 == 0 else list(reversed(sides)):
                    peak, cpu, parts[side] = run_index(folder, sides[side])
                    print(f"round {rnd + 1} {side:<11} {n:>7,} captures  peak RSS {peak:6.1f} MB"
                          f"  {cpu:6.1f} CPU-s  load {os.getloadavg()[0]:.1f}", flush=True)
            if len(parts) == 2:
                same = parts["newsarchive"] == parts["baseline"]
                print(f"  catalog parts {'identical' if same else 'DIFFER'}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
