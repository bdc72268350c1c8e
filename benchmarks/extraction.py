"""Extraction benchmark: newsarchive against trafilatura, same pages, same run.

Reads the pages, ground truth and scorer of the shared article-extraction
benchmark (default ``../shared/extraction-bench`` from the project root; the
pages are never copied into the repository) and prints F1, precision, recall,
exact-match accuracy and pages per second for ``newsarchive.extract`` and for
trafilatura with its default settings (and ``favor_precision`` with
``--all``), measured one after the other in this process.

usage: python benchmarks/extraction.py [--bench-dir DIR] [--all] [--worst N] [--rounds N] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load_bench(bench: Path) -> tuple[dict, dict[str, bytes], object]:
    """Ground truth, raw pages by id, and the benchmark's own score module."""
    spec = importlib.util.spec_from_file_location("bench_score", bench / "score.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"no score.py in {bench}")
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    truth = json.loads((bench / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {}
    for key in truth:
        path = bench / "html" / f"{key}.html.gz"
        pages[key] = gzip.decompress(path.read_bytes()) if path.exists() else (
            bench / "html" / f"{key}.html").read_bytes()
    return truth, pages, score


def measure(tools: list, truth: dict, pages: dict, score, rounds: int) -> list[dict]:
    """Score every tool, timing each page with each tool in turn.

    Pages are interleaved (page 1 with every tool, then page 2...) and each tool's
    time is its fastest of ``rounds`` passes, so load from other processes on a
    shared machine falls on all tools alike instead of on whichever ran then.
    """
    times = {name: [0.0] * rounds for name, _ in tools}
    preds: dict[str, dict] = {name: {} for name, _ in tools}
    for r in range(rounds):
        for key, body in pages.items():
            url = truth[key].get("url", "")
            for name, fn in tools:
                start = time.perf_counter()
                text = fn(body, url)
                times[name][r] += time.perf_counter() - start
                preds[name][key] = {"articleBody": text}
    results = []
    for name, _ in tools:
        result = score.score(truth, preds[name])
        result["name"] = name
        result["pages_per_s"] = len(pages) / min(times[name])
        results.append(result)
    return results


def newsarchive_text(body: bytes, url: str) -> str:
    from newsarchive.extract import extract_sidecar

    return extract_sidecar(body, url)["text"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench-dir", type=Path, default=ROOT.parent / "shared" / "extraction-bench")
    ap.add_argument("--all", action="store_true", help="also trafilatura favor_precision")
    ap.add_argument("--worst", type=int, default=0, help="list the N worst pages of newsarchive")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    ap.add_argument("--rounds", type=int, default=3,
                    help="timing passes over the pages; the fastest counts (default 3)")
    args = ap.parse_args(argv)
    if not (args.bench_dir / "ground-truth.json").exists():
        print(f"benchmark: no ground-truth.json in {args.bench_dir}; pass --bench-dir",
              file=sys.stderr)
        return 2
    truth, pages, score = load_bench(args.bench_dir)

    import logging

    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    # Warm both up (imports, caches) so neither pays start-up inside the clock.
    first = next(iter(pages))
    newsarchive_text(pages[first], truth[first]["url"])
    trafilatura.extract(pages[first])

    tools: list[tuple[str, Callable[[bytes, str], str]]] = [
        ("newsarchive", newsarchive_text),
        ("trafilatura", lambda b, u: trafilatura.extract(b, url=u) or ""),
    ]
    if args.all:
        tools.append(("trafilatura-precision",
                      lambda b, u: trafilatura.extract(b, url=u, favor_precision=True) or ""))
    results = measure(tools, truth, pages, score, args.rounds)
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if k != "per_page_f1"} for r in results]))
        return 0
    print(f"{len(pages)} pages from {args.bench_dir}")
    print(f"{'tool':<24}{'F1':>8}{'prec.':>8}{'recall':>8}{'acc.':>8}{'pages/s':>9}")
    for r in results:
        print(f"{r['name']:<24}{r['f1']:>8.4f}{r['precision']:>8.4f}{r['recall']:>8.4f}"
              f"{r['accuracy']:>8.3f}{r['pages_per_s']:>9.1f}")
    for key, f1 in sorted(results[0]["per_page_f1"].items(), key=lambda kv: kv[1])[: args.worst]:
        print(f"  worst {f1:.3f} {key[:12]} {truth[key].get('url', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
