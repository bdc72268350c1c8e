"""Story clusters: precision, recall and speed on synthetic syndicated stories with known truth.

Writes N versions (default 10,000) of stories the way syndication makes them,
with the story each version belongs to known, feeds them in a shuffled
(capture) order through :class:`newsarchive.index.stories.StoryIndex` -- the
same code the catalog uses, on disk in SQLite -- and scores the clusters
pairwise: precision = share of version pairs put together that belong
together, recall = share of pairs that belong together that were put
together. The baseline in the same run is exact-text deduplication (what
``--dedupe-stories`` did before: one key per identical normalised text).

How versions differ from the story as sent (each version draws some):
the last one or two paragraphs cut; a contributor line, a correction or an
"updated" paragraph added; 3% of the words changed (house style, typos); two
paragraphs swapped; the site's own boilerplate line (a newsletter plug, the
same on every story of that site) appended. Hard negatives: a fifth of the
stories are written from a few shared templates (market reports, weather,
sports results) that differ only in names and numbers every few words.

Usage: .venv/bin/python benchmarks/stories.py [--versions 10000] [--thresholds 0.5]

Measured on the 2-core development VM (shared, load 17-20), 10,000 versions of 3,528
stories: threshold 0.4 precision 1.0000, recall 0.9923, 63 versions/s (the SQLite
index on disk included); 0.5 gave recall 0.88 on 2,000 versions; exact text: recall 0.013.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsarchive.index import stories  # noqa: E402

VOCAB = [f"w{i}" for i in range(4000)]
NAMES = [f"Name{i}" for i in range(3000)]
TEMPLATES = [
    "Shares of {n} {v} {x} percent to {y} dollars on {d} as traders weighed {n} results and the "
    "outlook for {n} sales in the quarter to {d}",
    "The forecast for {n} calls for {x} millimetres of rain on {d} with highs of {y} degrees and "
    "winds from the {n} of up to {x} kilometres an hour",
    "{n} beat {n} {x} to {y} on {d} with goals from {n} and {n} in front of {x} thousand fans at "
    "the {n} stadium",
]
EXTRAS = [
    "Associated Press writer {n} in {n} contributed to this report.",
    "This story has been corrected to show that the vote was on {d}, not the day before.",
    "Updated {d}: {n} said late on {d} that talks would resume next week with {n} and {n}.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def fill(rng: random.Random, pattern: str) -> str:
    out = pattern
    while "{" in out:
        out = out.replace("{n}", rng.choice(NAMES), 1).replace("{v}", rng.choice(
            ["rose", "fell", "slid", "jumped"]), 1).replace("{x}", str(rng.randint(1, 99)), 1)
        out = out.replace("{y}", str(rng.randint(10, 999)), 1).replace("{d}", rng.choice(DAYS), 1)
    return out


def story(rng: random.Random, weights: list[float]) -> list[str]:
    """A story as sent: 5-12 paragraphs; a fifth are template stories."""
    if rng.random() < 0.2:
        template = rng.choice(TEMPLATES)
        return [fill(rng, template) + "." for _ in range(rng.randint(5, 9))]
    return [" ".join(rng.choices(VOCAB, weights, k=rng.randint(25, 60))) + "."
            for _ in range(rng.randint(5, 12))]


def version(rng: random.Random, paras: list[str], site_line: str) -> list[str]:
    """One site's copy of a story."""
    out = list(paras)
    if rng.random() < 0.4 and len(out) > 4:
        out = out[: -rng.choice((1, 1, 2))]
    if rng.random() < 0.4:
        out += [fill(rng, e) for e in rng.sample(EXTRAS, rng.randint(1, 2))]
    if rng.random() < 0.3:
        out = [" ".join(w if rng.random() > 0.03 else rng.choice(VOCAB) for w in p.split())
               for p in out]
    if rng.random() < 0.2 and len(out) > 3:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    if rng.random() < 0.5:
        out.append(site_line)
    return out


def corpus(n: int, seed: int = 7) -> list[tuple[int, str]]:
    """``(true story, text)`` of ``n`` versions, in a shuffled (capture) order."""
    rng = random.Random(seed)
    weights = [1 / (i + 10) for i in range(len(VOCAB))]  # Zipf-like: common words repeat
    sites = [f"Sign up for the {s} newsletter to get the day's top stories from our newsroom "
             f"every morning." for s in NAMES[:40]]
    docs: list[tuple[int, str]] = []
    truth = 0
    while len(docs) < n:
        paras = story(rng, weights)
        copies = rng.choice((1, 1, 2, 3, 4, 6))
        for _ in range(min(copies, n - len(docs))):
            docs.append((truth, "\n\n".join(version(rng, paras, rng.choice(sites)))))
        truth += 1
    rng.shuffle(docs)
    return docs


def pairs(groups: Counter[object]) -> int:
    return sum(c * (c - 1) // 2 for c in groups.values())


def score(truth: list[int], predicted: list[object]) -> tuple[float, float]:
    """Pairwise precision and recall of ``predicted`` clusters against ``truth``."""
    both = pairs(Counter(zip(truth, predicted, strict=True)))
    put_together, belong = pairs(Counter(predicted)), pairs(Counter(truth))
    return (both / put_together if put_together else 1.0), (both / belong if belong else 1.0)


def main() -> int:
    """Generate, cluster, score."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[stories.THRESHOLD])
    args = parser.parse_args()
    t = time.perf_counter()
    docs = corpus(args.versions)
    truth = [s for s, _ in docs]
    print(f"{len(docs):,} versions of {len(set(truth)):,} stories "
          f"(generated in {time.perf_counter() - t:.1f} s)", flush=True)
    stories.bands()  # datasketch's import and parameter search: not per version
    t = time.perf_counter()
    exact = [stories.exact_key(text) for _, text in docs]
    p, r = score(truth, exact)
    print(f"baseline exact text     precision {p:.4f}  recall {r:.4f}  "
          f"{len(docs) / (time.perf_counter() - t):,.0f} versions/s")
    for threshold in args.thresholds:
        with tempfile.TemporaryDirectory() as tmp, \
                stories.StoryIndex(Path(tmp) / "s.sqlite", threshold) as index:
            t = time.perf_counter()
            got = [index.assign(f"r{n}", text) for n, (_, text) in enumerate(docs)]
            secs = time.perf_counter() - t
        p, r = score(truth, got)
        b, rows = stories.bands(threshold)
        print(f"MinHash LSH {threshold:.2f} ({b}x{rows}) precision {p:.4f}  recall {r:.4f}  "
              f"{len(docs) / secs:,.0f} versions/s  ({secs:.1f} s; {len(set(got)):,} clusters)",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
