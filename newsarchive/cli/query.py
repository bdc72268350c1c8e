"""``newsarchive query "SQL" [COLLECTION...]``: DuckDB over the Parquet catalog."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from newsarchive.cli.common import add_s3_options, apply_s3_options


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``query`` verb."""
    p = sub.add_parser(
        "query",
        help="run SQL (DuckDB) over collections' catalogs: a view named `catalog`",
        description="Run a DuckDB SQL statement over the Parquet catalog of one or more "
        "collections (folders or s3:// stores; default: the current folder). The view "
        "`catalog` has one row per capture: url, timestamp, status, mime, digest, "
        "warc_filename/offset/length, is_article, title, authors, publisher, published, "
        "language, text_length, fingerprint, ... and the partition columns collection "
        "and date. Example: newsarchive query \"SELECT host, count(*) FROM catalog "
        "WHERE is_article GROUP BY 1\" ./archive",
    )
    p.add_argument("sql", metavar="SQL", help="the statement; the table is `catalog`")
    p.add_argument("collections", nargs="*", metavar="COLLECTION", default=["."],
                   help="collection folders or s3:// stores (default: .)")
    add_s3_options(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="rows as a JSON array of objects")
    fmt.add_argument("--csv", action="store_true", help="rows as CSV with a header")
    p.set_defaults(func=run)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(map(str, value))
    return str(value)


def run(args: argparse.Namespace) -> int:
    """Query; print a table, JSON or CSV."""
    from newsarchive.collection import Collection
    from newsarchive.index.query import run_query

    apply_s3_options(args)
    colls = [Collection.open(c, must_have_warcs=False) for c in args.collections]
    columns, result = run_query(colls, args.sql)
    if args.json:
        rows = [dict(zip(columns, r, strict=True)) for r in result.fetchall()]
        json.dump(rows, sys.stdout, indent=2, default=str, ensure_ascii=False)
        sys.stdout.write("\n")
    elif args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        while batch := result.fetchmany(1000):
            writer.writerows([_cell(v) for v in row] for row in batch)
    else:
        rows = [[_cell(v) for v in r] for r in result.fetchmany(10_000)]
        widths = [min(60, max([len(c)] + [len(r[i]) for r in rows])) for i, c in enumerate(columns)]
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
        for r in rows:
            print("  ".join(v[:60].ljust(w) for v, w in zip(r, widths, strict=True)))
        print(f"({len(rows)} rows)", file=sys.stderr)
    return 0
