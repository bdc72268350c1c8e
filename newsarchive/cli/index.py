"""``newsarchive index COLLECTION``: rebuild CDXJ indexes and the Parquet catalog."""

from __future__ import annotations

import argparse
import sys

from newsarchive.cli.common import add_s3_options, apply_s3_options, print_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``index`` verb."""
    p = sub.add_parser(
        "index",
        help="rebuild a collection's CDXJ indexes and Parquet catalog",
        description="Index every WARC file of a collection (folder or s3:// store) with "
        "cdxj-indexer into indexes/NAME.cdxj and rebuild its Parquet catalog "
        "(catalog/collection=NAME/date=YYYY-MM-DD/). A crawl does this as it goes; "
        "use this for older collections or after copying files in. A damaged file is "
        "indexed as far as it can be read (past a broken gzip member) and never stops the "
        "others; each fault is one line on stderr. Exit 0, 1 if any file was damaged, 2 on a "
        "bad argument, 3 on a storage problem.",
    )
    p.add_argument("collection", metavar="COLLECTION", help="collection folder or s3:// store")
    p.add_argument("--no-catalog", action="store_true", help="only the CDXJ indexes")
    add_s3_options(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Rebuild; print a one-line summary (or JSON)."""
    from newsarchive.collection import Collection
    from newsarchive.index.build import index_collection
    from newsarchive.progress import Progress

    apply_s3_options(args)
    coll = Collection.open(args.collection)
    with Progress("index", unit="WARC files", enabled=not args.json) as shown:
        report = index_collection(
            coll, catalog=not args.no_catalog,
            progress=lambda done, total, _name: shown.update(done, total),
        )
    if args.json:
        print_json(vars(report))
    else:
        for fault in report.faults:
            print(f"FAULT: {fault}", file=sys.stderr)
        damaged = f", {len(report.faults)} faults" if report.faults else ""
        print(
            f"{report.collection}: {report.warcs} WARC files, {report.captures} captures "
            f"indexed, {report.catalog_parts} catalog parts{damaged}",
            file=sys.stdout,
        )
    return 1 if report.faults else 0
