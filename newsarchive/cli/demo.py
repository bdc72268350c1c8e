"""``newsarchive demo``: the main job on embedded defaults.

Starts the bundled demo news site on 127.0.0.1, crawls it into a local
collection folder (WARC files and sidecars), and prints the summary.
"""

from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path

from newsarchive.cli.common import add_store_options, print_json, store_overrides
from newsarchive.exceptions import ConfigError

DEMO_PORT = 8765


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``demo`` verb."""
    p = sub.add_parser(
        "demo",
        help="crawl the bundled demo news site into ./demo-archive and print a summary",
        description="Serve the bundled demo news site on 127.0.0.1, crawl it from its root "
        "URL into a local collection folder and print a summary.",
    )
    p.add_argument("--out", type=Path, default=Path("demo-archive"), help="collection folder (default ./demo-archive)")
    p.add_argument("--articles", type=int, default=60, help="articles on the demo site (default 60)")
    p.add_argument(
        "--port",
        type=int,
        default=DEMO_PORT,
        help=f"port of the demo site (default {DEMO_PORT}, so a second run re-crawls the same "
        "URLs incrementally; any free port if it is taken)",
    )
    add_store_options(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve, crawl, summarise."""
    from newsarchive.demosite import DemoSite
    from newsarchive.demosite.content import MAX_ARTICLES
    from newsarchive.report.build import crawl_with_report

    if not 1 <= args.articles <= MAX_ARTICLES:
        raise ConfigError(f"--articles must be between 1 and {MAX_ARTICLES:,}, not {args.articles}")
    site = DemoSite(articles=args.articles, port=args.port)
    try:
        site.start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        # The URLs change with the port, so this run cannot be incremental.
        print(f"port {args.port} is taken; serving the demo site on another one", file=sys.stderr)
        site = DemoSite(articles=args.articles, port=0).start()
    with site:
        if not args.json:
            print(f"demo news site serving at {site.url}", file=sys.stderr)
        summary = crawl_with_report(
            args.out,
            {"start_urls": [site.url], "depth": 3},
            {"PROGRESS_ENABLED": not (args.quiet or args.json), **store_overrides(args)},
        )
    if args.json:
        print_json(summary.as_dict())
    else:
        print(summary.text())
    from newsarchive.cli.crawl import exit_code

    return exit_code(summary)
