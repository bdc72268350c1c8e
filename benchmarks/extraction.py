"""Extraction benchmark: newsarchive against trafilatura, same pages, same run.

Two page sets from ``../shared/extraction-bench`` (never copied into the repository):

* the news benchmark (``ground-truth.json`` and its ``score.py``): F1 and exact-match
  accuracy per fold of a k-fold split (``--folds``, default 5) and their mean, for
  newsarchive and for trafilatura's defaults. Every threshold of
  :class:`newsarchive.extract.story.Options` listed in ``GRID`` is chosen on the
  training folds and scored on the held-out one, so each fold's number is for
  pages its settings were not picked on. ``--ablate`` switches each rule of
  ``story.RULES`` off in turn and prints its F1 change per held-out fold: a rule
  that helps one fold and hurts another does not belong in the extractor.
* ``trafeval-dev`` (302 multilingual pages: news, blogs, press releases, shops,
  forums; its own ``score.py`` of 'with'/'without' snippets): newsarchive's
  sidecars and trafilatura's default output, each scored by that script.

Speed: pages per second on both sets, each page run by every tool in turn, the
order of the tools alternating between rounds; the median round counts.

usage: python benchmarks/extraction.py [--bench-dir DIR] [--folds K] [--rounds N]
       [--ablate] [--no-trafeval] [--worst N] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import logging
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsarchive.extract import extract_sidecar  # noqa: E402
from newsarchive.extract.story import RULES, Options  # noqa: E402

# Thresholds chosen per fold on its training folds (one at a time, the others at
# their defaults); the shipped defaults should be what most folds choose.
GRID: dict[str, tuple[float, ...]] = {
    "fallback_share": (0.3, 0.5, 0.7),
    "blocks_share": (0.5, 1.0, 1.5),
    "article_body_share": (0.3, 0.5, 0.7),
}
Tool = Callable[[bytes, str], str]


def load_module(path: Path, name: str) -> Any:
    """The benchmark's own ``score.py`` as a module."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"no {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_news(bench: Path) -> tuple[dict, dict[str, bytes]]:
    """Ground truth and raw pages by id of the news benchmark."""
    truth = json.loads((bench / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {}
    for key in truth:
        path = bench / "html" / f"{key}.html.gz"
        pages[key] = gzip.decompress(path.read_bytes()) if path.exists() else (
            bench / "html" / f"{key}.html").read_bytes()
    return truth, pages


def folds_of(keys: list[str], k: int) -> dict[str, int]:
    """A fixed split: pages ordered by a hash of their id, dealt round-robin."""
    ordered = sorted(keys, key=lambda key: hashlib.sha256(key.encode()).hexdigest())
    return {key: i % k for i, key in enumerate(ordered)}


def newsarchive_tool(options: Options) -> Tool:
    return lambda body, url: extract_sidecar(body, url, options=options)["text"]


def trafilatura_tool(body: bytes, url: str) -> str:
    import trafilatura

    return trafilatura.extract(body, url=url or None) or ""


def run_tools(tools: dict[str, Tool], pages: dict[str, bytes], urls: dict[str, str],
              rounds: int) -> tuple[dict[str, dict[str, str]], dict[str, float]]:
    """Texts per tool and page, and each tool's median seconds per round.

    Page by page, every tool in turn (their order reversed every other round), so
    load from other processes on a shared machine falls on all tools alike.
    """
    names = list(tools)
    texts: dict[str, dict[str, str]] = {n: {} for n in names}
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        spent = dict.fromkeys(names, 0.0)
        for key, body in pages.items():
            for name in order:
                start = time.perf_counter()
                text = tools[name](body, urls.get(key, ""))
                spent[name] += time.perf_counter() - start
                texts[name][key] = text
        for name in names:
            times[name].append(spent[name])
    return texts, {n: statistics.median(t) for n, t in times.items()}


def fold_scores(score: Any, truth: dict, texts: dict[str, str], folds: dict[str, int],
                k: int) -> list[dict]:
    """The benchmark's score of each fold's pages."""
    out = []
    for f in range(k):
        keys = [key for key in truth if folds[key] == f]
        out.append(score.score({key: truth[key] for key in keys},
                               {key: {"articleBody": texts[key]} for key in keys}))
    return out


def tune(score: Any, truth: dict, pages: dict[str, bytes], folds: dict[str, int], k: int,
         default_texts: dict[str, str]) -> tuple[dict[str, str], list[dict[str, float]]]:
    """Held-out texts with each fold's thresholds picked on its training folds."""
    urls = {key: truth[key].get("url", "") for key in truth}
    base = Options()
    variants: dict[tuple[str, float], dict[str, str]] = {}
    for name, values in GRID.items():
        for value in values:
            if value == getattr(base, name):
                variants[(name, value)] = default_texts
            else:
                tool = newsarchive_tool(replace(base, **{name: value}))
                variants[(name, value)] = {key: tool(pages[key], urls[key]) for key in pages}
    held_out: dict[str, str] = {}
    chosen: list[dict[str, float]] = []

    def f1_on(keys: list[str], texts: dict[str, str]) -> float:
        return round(score.score({key: truth[key] for key in keys},
                                 {key: {"articleBody": texts[key]} for key in keys})["f1"], 6)

    for f in range(k):
        train = [key for key in truth if folds[key] != f]
        picks: dict[str, float] = {}
        for name, values in GRID.items():
            # Ties go to the default: a threshold moves only for a real gain.
            picks[name] = max(values, key=lambda v, name=name, train=train: (
                f1_on(train, variants[(name, v)]), v == getattr(base, name)))
        chosen.append(picks)
        tool = newsarchive_tool(replace(base, **picks))
        for key in truth:
            if folds[key] == f:
                held_out[key] = (default_texts[key] if all(
                    v == getattr(base, n) for n, v in picks.items()) else tool(pages[key], urls[key]))
    return held_out, chosen


def trafeval(bench: Path, rounds: int) -> dict[str, Any] | None:
    """trafeval-dev scored by its own score.py: newsarchive's sidecars and trafilatura."""
    root = bench / "trafeval-dev"
    if not (root / "snippets.json").exists():
        return None
    names = list(json.loads((root / "snippets.json").read_text(encoding="utf-8")))
    pages = {n: gzip.decompress((root / "pages" / f"{n}.html.gz").read_bytes()) for n in names}
    tools: dict[str, Tool] = {"newsarchive": newsarchive_tool(Options()),
                              "trafilatura": trafilatura_tool}
    texts, seconds = run_tools(tools, pages, {}, rounds)
    out: dict[str, Any] = {"pages": len(pages)}
    with tempfile.TemporaryDirectory(prefix="trafeval-") as tmp:
        for tool in tools:
            folder = Path(tmp) / tool
            folder.mkdir()
            for n, text in texts[tool].items():
                (folder / f"{n}.json").write_text(json.dumps({"text": text}), encoding="utf-8")
            line = subprocess.run([sys.executable, str(root / "score.py"), str(folder)],
                                  capture_output=True, text=True, check=True).stdout.strip()
            found = dict(re.findall(r"(precision|recall|accuracy|F) ([\d.]+)", line))
            out[tool] = {"line": line, **{k: float(v) for k, v in found.items()},
                         "pages_per_s": len(pages) / seconds[tool]}
    return out


def ablate(score: Any, truth: dict, pages: dict[str, bytes], folds: dict[str, int], k: int,
           default_folds: list[dict]) -> dict[str, list[float]]:
    """Per rule: F1 of each fold with the rule on minus with it off."""
    urls = {key: truth[key].get("url", "") for key in truth}
    out = {}
    for rule in sorted(RULES):
        tool = newsarchive_tool(Options(rules=RULES - {rule}))
        texts = {key: tool(pages[key], urls[key]) for key in pages}
        without = fold_scores(score, truth, texts, folds, k)
        out[rule] = [d["f1"] - w["f1"] for d, w in zip(default_folds, without, strict=True)]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench-dir", type=Path, default=ROOT.parent / "shared" / "extraction-bench")
    ap.add_argument("--folds", type=int, default=5, help="k of the k-fold split (default 5)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="timing rounds over the pages, the tools' order alternating; the "
                    "median round counts (default 3)")
    ap.add_argument("--ablate", action="store_true",
                    help="also each rule switched off, its F1 change per held-out fold")
    ap.add_argument("--no-trafeval", action="store_true", help="skip the trafeval-dev pages")
    ap.add_argument("--worst", type=int, default=0, help="list the N worst pages of newsarchive")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    args = ap.parse_args(argv)
    if not (args.bench_dir / "ground-truth.json").exists():
        print(f"benchmark: no ground-truth.json in {args.bench_dir}; pass --bench-dir",
              file=sys.stderr)
        return 2
    if args.folds < 2 or args.rounds < 1:
        print("benchmark: --folds must be 2 or more, --rounds 1 or more", file=sys.stderr)
        return 2
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    score = load_module(args.bench_dir / "score.py", "bench_score")
    truth, pages = load_news(args.bench_dir)
    urls = {key: truth[key].get("url", "") for key in truth}
    folds = folds_of(list(truth), args.folds)
    tools: dict[str, Tool] = {"newsarchive": newsarchive_tool(Options()),
                              "trafilatura": trafilatura_tool}
    first = next(iter(pages))
    for tool in tools.values():  # imports and caches warmed outside the clock
        tool(pages[first], urls[first])
    texts, seconds = run_tools(tools, pages, urls, args.rounds)
    result: dict[str, Any] = {"pages": len(pages), "folds": args.folds}
    for name in tools:
        per_fold = fold_scores(score, truth, texts[name], folds, args.folds)
        whole = score.score(truth, {key: {"articleBody": t} for key, t in texts[name].items()})
        result[name] = {
            "fold_f1": [r["f1"] for r in per_fold], "fold_accuracy": [r["accuracy"] for r in per_fold],
            "f1": whole["f1"], "precision": whole["precision"], "recall": whole["recall"],
            "accuracy": whole["accuracy"], "pages_per_s": len(pages) / seconds[name],
            "per_page_f1": whole["per_page_f1"],
        }
    held_out, chosen = tune(score, truth, pages, folds, args.folds, texts["newsarchive"])
    cv = fold_scores(score, truth, held_out, folds, args.folds)
    result["cv"] = {"fold_f1": [r["f1"] for r in cv], "fold_accuracy": [r["accuracy"] for r in cv],
                    "chosen": chosen}
    result["speed_ratio"] = result["newsarchive"]["pages_per_s"] / result["trafilatura"]["pages_per_s"]
    if args.ablate:
        default_folds = fold_scores(score, truth, texts["newsarchive"], folds, args.folds)
        result["ablation"] = ablate(score, truth, pages, folds, args.folds, default_folds)
    if not args.no_trafeval:
        result["trafeval"] = trafeval(args.bench_dir, args.rounds)
    if args.json:
        for name in tools:
            result[name].pop("per_page_f1")
        print(json.dumps(result))
        return 0
    report(result, truth, args)
    return 0


def report(result: dict[str, Any], truth: dict, args: argparse.Namespace) -> None:
    """The human-readable tables."""
    k = result["folds"]
    mean = statistics.mean
    print(f"news benchmark: {result['pages']} pages from {args.bench_dir}, {k} folds")
    head = "".join(f"{'fold ' + str(f + 1):>9}" for f in range(k))
    print(f"{'':<28}{head}{'mean':>9}{'all':>9}{'pages/s':>9}")
    rows = [("newsarchive", result["newsarchive"]), ("trafilatura", result["trafilatura"])]
    for name, r in rows:
        print(f"{name + ' F1':<28}" + "".join(f"{x:>9.4f}" for x in r["fold_f1"])
              + f"{mean(r['fold_f1']):>9.4f}{r['f1']:>9.4f}{r['pages_per_s']:>9.1f}")
        print(f"{name + ' accuracy':<28}" + "".join(f"{x:>9.3f}" for x in r["fold_accuracy"])
              + f"{mean(r['fold_accuracy']):>9.3f}{r['accuracy']:>9.3f}")
    cv = result["cv"]
    print(f"{'newsarchive held-out F1':<28}" + "".join(f"{x:>9.4f}" for x in cv["fold_f1"])
          + f"{mean(cv['fold_f1']):>9.4f}")
    print(f"{'newsarchive held-out acc.':<28}" + "".join(f"{x:>9.3f}" for x in cv["fold_accuracy"])
          + f"{mean(cv['fold_accuracy']):>9.3f}")
    print("  thresholds chosen on the training folds: "
          + "; ".join(f"fold {f + 1} " + ", ".join(f"{n}={v:g}" for n, v in c.items())
                      for f, c in enumerate(cv["chosen"])))
    print(f"speed: newsarchive {result['speed_ratio']:.2f}x trafilatura's pages/s "
          f"(median of {args.rounds} alternating rounds)")
    for rule, deltas in result.get("ablation", {}).items():
        verdict = ("helps, hurts no fold" if min(deltas) >= 0 and max(deltas) > 0 else
                   "no effect" if max(abs(d) for d in deltas) < 1e-9 else
                   "HURTS some fold" if min(deltas) < 0 else "")
        print(f"  rule {rule:<22} F1 on - off per fold: "
              + " ".join(f"{d:+.4f}" for d in deltas) + f"  {verdict}")
    te = result.get("trafeval")
    if te:
        print(f"trafeval-dev ({te['pages']} pages, its score.py):")
        for name in ("newsarchive", "trafilatura"):
            print(f"  {name:<12} {te[name]['line']}  ({te[name]['pages_per_s']:.1f} pages/s)")
    worst = sorted(result["newsarchive"]["per_page_f1"].items(), key=lambda kv: kv[1])
    for key, f1 in worst[: args.worst]:
        print(f"  worst {f1:.3f} {key[:12]} {truth[key].get('url', '')}")


if __name__ == "__main__":
    sys.exit(main())
