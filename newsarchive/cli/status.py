"""``newsarchive status COLLECTION [--json]``: what a collection holds, and its health."""

from __future__ import annotations

import argparse
from typing import Any

from newsarchive.cli.common import add_s3_options, apply_s3_options, print_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``status`` verb."""
    p = sub.add_parser(
        "status",
        help="size, WARC files, captures, articles, pending uploads, last run, health",
        description="Count what a collection (folder or s3:// store) holds: WARC files and "
        "bytes, .open files, captures, articles, fetched articles without a sidecar, uploads "
        "pending, the last run and its outcome, and health (each closed WARC file ends with a "
        "complete record: the quick form of `warc check`). Exit 0, or 1 when a WARC file is "
        "damaged (run `newsarchive warc check` for the full check).",
    )
    p.add_argument("collection", metavar="COLLECTION", help="collection folder or s3:// store")
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    add_s3_options(p)
    p.set_defaults(func=run)


def _mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:.2f} MB"


def _text(s: dict[str, Any]) -> str:
    run = s["last_run"]
    last = "none recorded"
    if run:
        last = f"{run['run_id']} {run['status']}"
        if run.get("finish_reason"):
            last += f" ({run['finish_reason']})"
        if run.get("pages") is not None:
            last += f", {run['pages']} pages, {run.get('errors') or 0} errors"
        if run.get("report"):
            last += f"\n                  report {run['report']}"
    lines = [
        f"{s['collection']}  ({s['location']})",
        f"  size            {_mb(s['size_bytes'])}",
        f"  WARC files      {s['warc_files']} ({_mb(s['warc_bytes'])}), {s['open_files']} open",
        f"  captures        {s['captures']}",
        f"  articles        {s['articles']} ({s['sidecars']} sidecars)",
        f"  no sidecar      {'-' if s['articles_without_sidecar'] is None else s['articles_without_sidecar']} fetched articles",
        f"  pending uploads {'-' if s['pending_uploads'] is None else s['pending_uploads']}",
        f"  last run        {last}",
        f"  health          {s['health']}",
    ]
    lines += [f"    - {p}" for p in s["problems"]]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the status; exit 1 when a WARC file is damaged."""
    from newsarchive.report.status import collection_status

    apply_s3_options(args)
    status = collection_status(args.collection).as_dict()
    if args.json:
        print_json(status)
    else:
        print(_text(status))
    return 1 if status["health"] == "damaged" else 0
