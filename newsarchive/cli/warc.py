"""``newsarchive warc check PATH...``: validate WARC files."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from newsarchive.cli.common import add_s3_options, print_json
from newsarchive.collection import WARC_SUFFIXES as ARCHIVE_SUFFIXES

if TYPE_CHECKING:
    from newsarchive.capture.check import FileReport


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``warc`` verb and its sub-verbs."""
    p = sub.add_parser("warc", help="work with WARC files (check)")
    warc_sub = p.add_subparsers(dest="warc_command", metavar="SUBCOMMAND")
    c = warc_sub.add_parser(
        "check",
        help="validate WARC and ARC files: gzip members, records, digests, HTTP messages",
        description="Validate every WARC or ARC file given (files, collection folders, s3:// "
        "URIs): each gzip member complete, each record well-formed, block and payload digests "
        "right, each HTTP message consistent (status line, header syntax and size, body against "
        "Content-Length or its chunks). A missing digest is a note (WARC 1.1 makes digests "
        "optional) unless --strict. Damage is reported and reading goes on at the next whole "
        "gzip member. Prints a table; exits 1 if any file has a fault.",
    )
    c.add_argument("paths", nargs="+", metavar="PATH",
                   help="WARC/ARC file, folder, or s3:// URI")
    c.add_argument("--strict", action="store_true",
                   help="a record without a block or payload digest is a fault, not a note")
    add_s3_options(c)
    c.add_argument("--json", action="store_true", help="print the reports as JSON")
    c.set_defaults(func=run_check)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def expand(
    paths: list[str], endpoint_url: str | None = None, region: str | None = None
) -> list[str]:
    """Files to check: folders (and s3:// prefixes) expand to their WARC files."""
    from newsarchive.exceptions import ConfigError

    files: list[str] = []
    for path in paths:
        if "://" in path:
            from newsarchive.store import list_inputs

            files.extend(list_inputs(path, ARCHIVE_SUFFIXES, endpoint_url=endpoint_url,
                                     region=region))
        elif os.path.isdir(path):
            found = []
            for root, _dirs, names in os.walk(path):
                found.extend(os.path.join(root, n) for n in names if n.endswith(ARCHIVE_SUFFIXES))
            files.extend(sorted(found))
        elif os.path.exists(path):
            files.append(path)
        else:
            raise ConfigError(f"{path}: no such file or folder")
    if not files:
        raise ConfigError(f"no WARC files in {' '.join(paths)}")
    return files


def run_check(args: argparse.Namespace) -> int:
    """Check every file; table (or JSON) out; exit 1 on any fault."""
    from newsarchive.capture.check import check_path
    from newsarchive.progress import Progress
    from newsarchive.store.opener import opener_for

    reports = []
    files = expand(args.paths, args.endpoint_url, args.region)
    with Progress("warc check", total=len(files), unit="files", enabled=len(files) > 1,
                  detail=lambda _p: f"{sum(not r.ok for r in reports)} with faults") as shown:
        for path in files:
            opener = opener_for(path, endpoint_url=args.endpoint_url, region=args.region)
            reports.append(check_path(path, strict=args.strict, opener=opener))
            shown.advance()
    if args.json:
        print_json([r.as_dict() for r in reports])
    else:
        print_table(reports)
    return 1 if any(not r.ok for r in reports) else 0


def print_table(reports: list[FileReport]) -> None:
    """One row per file (faults and notes on the lines below), a count on stderr."""
    width = max(len(r.name) for r in reports)
    pad = f"{'':<{width}}  {'':>7}  {'':>5}  {'':>7}  {'':>8}"
    print(f"{'FILE':<{width}}  {'RECORDS':>7}  {'RESP':>5}  {'REVISIT':>7}  {'MB':>8}  STATUS")
    for r in reports:
        status = "ok" if r.ok else "FAULT: " + r.errors[0]
        print(
            f"{r.name:<{width}}  {r.records:>7}  {r.types.get('response', 0):>5}  "
            f"{r.types.get('revisit', 0):>7}  {max(r.size, 0) / 1e6:>8.2f}  {status}"
        )
        for extra in r.errors[1:]:
            print(f"{pad}  {extra}")
        for note in r.summary_notes():
            print(f"{pad}  note: {note}")
    bad = sum(not r.ok for r in reports)
    print(f"{len(reports)} files checked, {bad} with faults", file=sys.stderr)
