"""``newsarchive warc check PATH...``: validate WARC files."""

from __future__ import annotations

import argparse
import os
import sys

from newsarchive.cli.common import add_s3_options, print_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``warc`` verb and its sub-verbs."""
    p = sub.add_parser("warc", help="work with WARC files (check)")
    warc_sub = p.add_subparsers(dest="warc_command", metavar="SUBCOMMAND")
    c = warc_sub.add_parser(
        "check",
        help="validate WARC files: gzip members, record structure, block and payload digests",
        description="Validate every WARC file given (files, collection folders, s3:// URIs): "
        "each gzip member complete, each record well-formed, both digests matching. "
        "Prints a table; exits 1 if any file has a fault.",
    )
    c.add_argument("paths", nargs="+", metavar="PATH", help="WARC file, folder, or s3:// URI")
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

            files.extend(list_inputs(path, endpoint_url=endpoint_url, region=region))
        elif os.path.isdir(path):
            found = []
            for root, _dirs, names in os.walk(path):
                found.extend(
                    os.path.join(root, n) for n in names if n.endswith((".warc.gz", ".warc"))
                )
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

    reports = []
    files = expand(args.paths, args.endpoint_url, args.region)
    with Progress("warc check", total=len(files), unit="files", enabled=len(files) > 1,
                  detail=lambda _p: f"{sum(not r.ok for r in reports)} with faults") as shown:
        for path in files:
            reports.append(check_path(path, endpoint_url=args.endpoint_url, region=args.region))
            shown.advance()
    if args.json:
        print_json([r.as_dict() for r in reports])
    else:
        width = max(len(r.name) for r in reports)
        print(f"{'FILE':<{width}}  {'RECORDS':>7}  {'RESP':>5}  {'REVISIT':>7}  {'MB':>8}  STATUS")
        for r in reports:
            status = "ok" if r.ok else "FAULT: " + r.errors[0]
            print(
                f"{r.name:<{width}}  {r.records:>7}  {r.types.get('response', 0):>5}  "
                f"{r.types.get('revisit', 0):>7}  {r.size / 1e6:>8.2f}  {status}"
            )
            for extra in r.errors[1:]:
                print(f"{'':<{width}}  {'':>7}  {'':>5}  {'':>7}  {'':>8}  {extra}")
        bad = sum(not r.ok for r in reports)
        print(f"{len(reports)} files checked, {bad} with faults", file=sys.stderr)
    return 1 if any(not r.ok for r in reports) else 0
