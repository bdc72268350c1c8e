#!/usr/bin/env python3
# A copy of ../shared/tools/check_sidecar.py (the contract's own scorer), so
# the tests that use it run on a fresh clone too.
"""Score a clean-text sidecar against an expected.json from fixtures/.

usage: check_sidecar.py EXPECTED.json SIDECAR.json
Prints one line per check and a last line 'N passed, M failed'; exits 1 on any failure.
"""
import json
import re
import sys
import unicodedata


def tokens(s):
    s = unicodedata.normalize("NFKC", s or "").lower()
    return re.findall(r"\w+", s)


def f1(expected, got):
    from collections import Counter
    e, g = Counter(tokens(expected)), Counter(tokens(got))
    common = sum((e & g).values())
    if not common:
        return 0.0, 0.0, 0.0
    p, r = common / sum(g.values()), common / sum(e.values())
    return p, r, 2 * p * r / (p + r)


def norm(s):
    return " ".join(tokens(s))


def main(exp_path, got_path):
    exp = json.load(open(exp_path, encoding="utf-8"))
    got = json.load(open(got_path, encoding="utf-8"))
    results = []

    def check(name, ok, detail=""):
        results.append(ok)
        print(("ok    " if ok else "FAIL  ") + name + (f"  ({detail})" if detail else ""))

    story = "\n\n".join(exp["paragraphs"])
    p, r, f = f1(story, got.get("text", ""))
    check("story text token F1 >= 0.98", f >= 0.98, f"P={p:.3f} R={r:.3f} F1={f:.3f}")
    gp = [norm(x) for x in got.get("paragraphs", [])]
    hits = sum(1 for x in exp["paragraphs"] if norm(x) in gp)
    check("every story paragraph is a paragraph of the sidecar", hits == len(exp["paragraphs"]), f"{hits}/{len(exp['paragraphs'])}")
    text = norm(got.get("text", ""))
    leaks = [s for s in exp["must_not_contain"] if norm(s) and norm(s) in text]
    check("no ad label, rail heading or teaser inside the story", not leaks, "; ".join(leaks[:3]))
    check("title", norm(got.get("title")) == norm(exp["title"]), repr(got.get("title")))
    ga = [norm(a) for a in got.get("authors") or []]
    check("authors", all(norm(a) in ga for a in exp["authors"]), repr(got.get("authors")))
    if exp.get("published"):
        check("published date", str(got.get("published") or "").startswith(exp["published"]), repr(got.get("published")))
    if exp.get("dateline"):
        check("dateline", norm(got.get("dateline")) == norm(exp["dateline"]), repr(got.get("dateline")))
    if exp.get("publisher"):
        check("publisher", norm(exp["publisher"]) in norm(got.get("publisher")), repr(got.get("publisher")))
    ads = got.get("ads") or []
    check("ad slots labelled", len(ads) >= exp["ads_count"], f"{len(ads)} found, {exp['ads_count']} expected at least")
    rel = {norm(x.get("title")): x for x in got.get("related") or []}
    found = [x for x in exp["related"] if norm(x["title"]) in rel]
    check("related links found (>= 90%)", len(found) >= 0.9 * len(exp["related"]), f"{len(found)}/{len(exp['related'])}")
    urls_ok = all(rel[norm(x["title"])].get("url") == x["url"] for x in found)
    check("related links carry their absolute URLs", urls_ok and bool(found))
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
