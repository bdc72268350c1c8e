"""``newsarchive report COLLECTION [--run ID] [--out FILE.html]``: the HTML crawl report."""

from __future__ import annotations

import argparse
from pathlib import Path

from newsarchive.cli.common import add_s3_options, apply_s3_options


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``report`` verb."""
    p = sub.add_parser(
        "report",
        help="write the HTML report of a crawl (or of a whole collection)",
        description="Write one self-contained HTML file (charts inlined as SVG, no script, "
        "opens offline, prints) showing what a crawl did: pages over time, HTTP status and "
        "failure kinds, MIME types, hosts, render mode, article yield, ads and related links "
        "per site, the slowest pages, failures, robots.txt refusals, truncations, and the "
        "collection's growth across runs. Every crawl writes its own to DIR/reports/RUN.html; "
        "this rebuilds it, from the run's summary in DIR/reports/RUN.json, the catalog and "
        "logs/crawl.log. Exit 0, 2 on a bad argument, 3 if the file cannot be written.",
    )
    p.add_argument("collection", metavar="COLLECTION", help="collection folder (or s3:// store)")
    p.add_argument("--run", metavar="ID", help="the run (a name in DIR/reports/, e.g. "
                   "20261130T095436Z; default: the latest)")
    p.add_argument("--out", type=Path, metavar="FILE.html",
                   help="where to write it (default: DIR/reports/RUN.html)")
    add_s3_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the report; print its path."""
    from newsarchive.report.build import build_report

    apply_s3_options(args)
    print(build_report(args.collection, args.run, args.out))
    return 0
