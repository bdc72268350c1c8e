"""``newsarchive stories COLLECTION``: the largest story clusters and how versions differ."""

from __future__ import annotations

import argparse
import dataclasses

from newsarchive.cli.common import add_s3_options, apply_s3_options, print_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``stories`` verb."""
    p = sub.add_parser(
        "stories",
        help="list the largest story clusters and what differs between their versions",
        description="Stories that ran at several URLs (the same wire story on many sites, "
        "a page re-captured), largest first, from the catalog's story_id. For each version "
        "(capture): its URL, time, words, and the paragraphs it adds (+) or drops (-) "
        "compared with the story's first capture. Exit 0, 2 on a bad option, 3 on a "
        "storage problem.",
    )
    p.add_argument("collection", metavar="COLLECTION", help="collection folder or s3:// store")
    p.add_argument("--top", type=int, default=10, metavar="N", help="how many stories (default 10)")
    p.add_argument("--min-urls", type=int, default=2, metavar="N",
                   help="only stories seen at N or more URLs (default 2)")
    add_s3_options(p)
    p.add_argument("--json", action="store_true", help="the clusters as JSON")
    p.set_defaults(func=run)


def _short(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def run(args: argparse.Namespace) -> int:
    """List the clusters."""
    from newsarchive.collection import Collection
    from newsarchive.exceptions import ConfigError
    from newsarchive.index.clusters import largest

    if args.top < 1 or args.min_urls < 1:
        raise ConfigError("--top and --min-urls must be 1 or more")
    apply_s3_options(args)
    clusters = largest(Collection.open(args.collection), args.top, args.min_urls)
    if args.json:
        print_json([dataclasses.asdict(c) for c in clusters])
        return 0
    if not clusters:
        print(f"no story seen at {args.min_urls} or more URLs")
        return 0
    for c in clusters:
        title = next((v.title for v in c.versions if v.title), "") or ""
        print(f"story {c.story_id}: {c.urls} URLs, {c.captures} captures  {_short(title, 70)}")
        for v in c.versions:
            print(f"  {v.captured:%Y-%m-%d %H:%M:%S}  {v.words or 0:>5} words  {v.url}")
            for p in v.added:
                print(f"      + {_short(p)}")
            for p in v.removed:
                print(f"      - {_short(p)}")
        print()
    return 0
