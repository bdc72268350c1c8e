"""``newsarchive runs``: the table of past scheduled runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from newsarchive.cli.common import print_json
from newsarchive.exceptions import ConfigError

COLUMNS = ("ID", "SITE", "START", "DURATION", "STATUS", "PAGES", "NEW", "ERRORS", "WARC", "REPORT")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``runs`` verb."""
    p = sub.add_parser(
        "runs",
        help="list past scheduled runs",
        description="Print the runs 'newsarchive schedule' recorded in COLLECTIONS/runs.sqlite: "
        "site, start, duration, status (ok, partial, failed, interrupted, time-limited, lost), "
        "pages fetched, new articles, errors, WARC files written, and the run's HTML crawl report.",
    )
    p.add_argument(
        "--collections", type=Path, default=Path("collections"), metavar="DIR",
        help="the folder given to 'newsarchive schedule --collections' (default ./collections)",
    )
    p.add_argument("--site", metavar="NAME", help="only this site's runs")
    p.add_argument("--limit", type=int, default=50, help="newest N runs (default 50)")
    p.add_argument("--json", action="store_true", help="JSON list, with WARC file names")
    p.set_defaults(func=run)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _num(value: int | None) -> str:
    return "-" if value is None else str(value)


def report_of(output: str | None) -> str | None:
    """The HTML report a run's crawl wrote, as named in its ``--json`` summary (if it exists)."""
    import json

    if not output:
        return None
    try:
        report = json.loads(Path(output).read_text(encoding="utf-8")).get("report")
    except (OSError, ValueError, AttributeError):
        return None
    return report if isinstance(report, str) and Path(report).is_file() else None


def run(args: argparse.Namespace) -> int:
    """Print the table (or JSON). Exit 0; 2 if there is no runs database."""
    from newsarchive.schedule.runs import RunsDB
    from newsarchive.schedule.scheduler import RUNS_DB

    path = args.collections / RUNS_DB
    if not path.is_file():
        raise ConfigError(
            f"no runs recorded in {args.collections} ({path} does not exist); "
            "give the folder used as 'newsarchive schedule --collections'"
        )
    db = RunsDB(path)
    try:
        records = db.list(args.site, args.limit)
    finally:
        db.close()
    reports = {r.id: report_of(r.output) for r in records}
    if args.json:
        print_json([{**r.as_dict(), "report": reports[r.id]} for r in records])
        return 0
    rows = [COLUMNS] + [
        (
            str(r.id), r.site, r.started_at.replace("T", " ")[:19], _duration(r.duration), r.status,
            _num(r.pages), _num(r.new_articles), _num(r.errors), str(len(r.warc_files)),
            reports[r.id] or "-",
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if not records:
        print("(no runs yet)")
    return 0
