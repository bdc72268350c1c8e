"""``newsarchive export COLLECTION --format jsonl|csv|parquet|wacz``: articles for researchers."""

from __future__ import annotations

import argparse
import os
import sys
import time

from newsarchive.cli.common import add_s3_options, apply_s3_options, print_json

FORMATS = ("jsonl", "csv", "parquet", "wacz")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``export`` verb."""
    p = sub.add_parser(
        "export",
        help="export a collection's articles as JSON Lines, CSV, Parquet or a WACZ",
        description="Stream every article (sidecar) of a collection (folder or s3:// store) "
        "that passes the filters to a file or stdout, with bounded memory: one row per "
        "capture (a URL crawled twice gives two rows) unless --latest, --dedupe-stories or "
        "--stories choose rows across the collection. Columns and their types: docs/export.md. "
        "wacz packages the WARC records of the matching articles and their resources, "
        "indexes, a pages list and the sidecars with py-wacz. Progress goes to stderr. "
        "A damaged sidecar file is read past its damage (each fault one line on stderr). "
        "Exit 0, 1 if anything was damaged, 2 on a bad option, 3 on a storage problem.",
    )
    p.add_argument("collection", metavar="COLLECTION", help="collection folder or s3:// store")
    p.add_argument("--format", "-f", choices=FORMATS, default="jsonl", help="default: jsonl")
    p.add_argument("--out", "-o", default="-", metavar="PATH|-", help="output file (default: stdout; wacz needs a file)")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="only articles on or after this date")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="only articles on or before this date")
    p.add_argument("--date-field", choices=("published", "captured"), default="published",
                   help="the date --since/--until apply to (default: published)")
    p.add_argument("--domain", action="append", default=[], metavar="DOMAIN",
                   help="only this site and its subdomains (repeatable)")
    p.add_argument("--lang", action="append", default=[], metavar="CODE",
                   help="only this language: a primary tag like en (every article has one, "
                   "declared or detected) or a declared tag like en-US (repeatable)")
    p.add_argument("--query", metavar="WORDS", help="only articles whose title or text contain every word")
    p.add_argument("--fields", metavar="A,B,...", help="columns to write (default: all); not for wacz")
    p.add_argument("--latest", action="store_true",
                   help="one row per URL: its latest capture (default: a row per capture)")
    views = p.add_mutually_exclusive_group()
    views.add_argument("--dedupe-stories", action="store_true",
                       help="one row per story (near-duplicate versions across sites and "
                       "captures); also_at lists the other URLs and their capture times")
    views.add_argument("--stories", action="store_true",
                       help="one row per story with versions: every capture of it")
    p.add_argument("--prefer", choices=("earliest", "latest"), default="earliest",
                   help="with --dedupe-stories/--stories: the capture a story's row shows "
                   "(default: earliest)")
    p.add_argument("--title", help="wacz: the package title (default: the collection name)")
    add_s3_options(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON on stderr")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run)


#: milliseconds mimalloc (pyarrow's default allocator) waits before returning freed pages
PURGE_DELAY_MS = "10"


def allocator_settings() -> None:
    """Have pyarrow's mimalloc give freed memory back to the system after
    :data:`PURGE_DELAY_MS` (its own default is 1 s, and a steady stream of frees
    postpones the purge further, as we read mimalloc 3.4's purge scheduling).

    An export frees a WARC's catalog rows and every block's copies, a few hundred
    MB per 20,000 rows; with the default delay those pages stayed resident and
    the peak RSS grew with the row count while Arrow held ~165 MB throughout
    (measured: 340-350 MB at 20,000 rows, 470-530 MB at 80,000; with 10 ms,
    320 and 350 MB; numbers in benchmarks/README.md).
    mimalloc reads the setting when pyarrow loads, so this must run first; a
    value set in the environment is kept.
    """
    if "pyarrow" not in sys.modules:
        os.environ.setdefault("MIMALLOC_PURGE_DELAY", PURGE_DELAY_MS)


def run(args: argparse.Namespace) -> int:
    """Export; progress and a summary on stderr."""
    allocator_settings()
    from newsarchive.capture.reading import printable
    from newsarchive.collection import Collection
    from newsarchive.exceptions import ConfigError
    from newsarchive.export.batches import Progress
    from newsarchive.export.filters import ExportFilter
    from newsarchive.export.views import View
    from newsarchive.progress import Progress as ProgressDisplay

    apply_s3_options(args)
    flt = ExportFilter.build(
        since=args.since, until=args.until, date_field=args.date_field,
        domains=args.domain, languages=args.lang, query=args.query,
    )
    view = View(latest=args.latest, prefer=args.prefer,
                stories="dedupe" if args.dedupe_stories else "stories" if args.stories else None)
    coll = Collection.open(args.collection)
    started = time.monotonic()

    display = ProgressDisplay("export", unit="articles read", enabled=not (args.quiet or args.json),
                              detail=lambda d: f"{progress.kept} written")
    progress = Progress(lambda p: display.update(p.read))
    if args.format == "wacz":
        if args.fields or view.stories:
            raise ConfigError("--fields, --dedupe-stories and --stories do not apply to "
                              "--format wacz")
        from newsarchive.export.wacz import export_wacz

        report: object = export_wacz(coll, args.out, flt, title=args.title, progress=progress,
                                     latest=args.latest)
    else:
        from newsarchive.export.tabular import export_rows, select_fields

        fields = select_fields(args.fields, view)
        report = export_rows(coll, args.format, args.out, flt, fields, view=view,
                             progress=progress)
    display.update(progress.read)
    display.close()
    if args.json:
        stdout, sys.stdout = sys.stdout, sys.stderr
        try:
            print_json(vars(report))
        finally:
            sys.stdout = stdout
    elif not args.quiet:
        summary = vars(report)
        count = summary.get("rows", summary.get("pages"))
        print(f"export: {count} articles -> {args.out} "
              f"({time.monotonic() - started:.1f} s)", file=sys.stderr)
    for fault in progress.faults:  # damage skipped, never silent
        print(f"FAULT: {printable(fault, 300)}", file=sys.stderr)
    return 1 if progress.faults else 0
