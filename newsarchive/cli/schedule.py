"""``newsarchive schedule SITES_DIR``: run every site file on its cron expression.

Exit codes: 0 stopped cleanly (SIGTERM/SIGINT, or ``--once`` with every run
ok or time-limited); 1 a ``--once`` run was partial, failed, interrupted or skipped
(locked); 2 a bad site file.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from newsarchive.exceptions import ConfigError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``schedule`` verb."""
    p = sub.add_parser(
        "schedule",
        help="run site files on their cron schedules (long-running)",
        description="Run each site file (*.yaml) of SITES_DIR on its 'schedule' cron "
        "expression, each run as 'newsarchive crawl SITE.yaml --out COLLECTION --json', "
        "never two runs of one site at once (a lock in COLLECTIONS/locks that a crash "
        "cannot leave behind). Every run is recorded in COLLECTIONS/runs.sqlite; see "
        "'newsarchive runs'. With --once, run the sites now and exit (for systemd "
        "timers and Kubernetes CronJobs).",
    )
    p.add_argument("sites_dir", type=Path, metavar="SITES_DIR", help="folder of site files")
    p.add_argument(
        "--collections", type=Path, default=Path("collections"), metavar="DIR",
        help="where collections, runs.sqlite and locks live (default ./collections); "
        "a site goes to DIR/NAME unless its file sets 'collection'",
    )
    p.add_argument("--once", action="store_true", help="run the sites now, wait for them, exit")
    p.add_argument(
        "--site", action="append", metavar="NAME",
        help="with --once: only this site (repeatable); default all sites",
    )
    p.add_argument("--poll", type=float, default=2.0, help="seconds between checks while crawls run")
    p.set_defaults(func=run)


def _log_to_stdout() -> None:
    """One line per run on stdout, whatever -v says: that is this command's output."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.setLevel(logging.INFO)
    log = logging.getLogger("newsarchive.schedule")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def run(args: argparse.Namespace) -> int:
    """Load the site files, then schedule (or run them once)."""
    from newsarchive.schedule.runs import GOOD_STATUSES
    from newsarchive.schedule.scheduler import Scheduler, SystemClock, load_sites

    sites = load_sites(args.sites_dir)
    if args.site:
        unknown = sorted(set(args.site) - {s.name for s in sites})
        if unknown:
            raise ConfigError(
                f"no site named {', '.join(unknown)} in {args.sites_dir}; "
                f"sites: {', '.join(s.name for s in sites)}"
            )
    if args.poll <= 0:
        raise ConfigError("--poll must be above 0 seconds")
    _log_to_stdout()
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    scheduler = Scheduler(sites, args.collections, clock=SystemClock(stop))
    try:
        if args.once:
            report = scheduler.run_now(args.site)
            records = scheduler.wait_idle(args.poll)
            ok = not report.skipped and all(r.status in GOOD_STATUSES for r in records)
            return 0 if ok else 1
        if not any(s.schedule for s in sites):
            raise ConfigError(
                f"no site file in {args.sites_dir} has a 'schedule'; add one "
                "(e.g. schedule: \"0 * * * *\") or use --once"
            )
        scheduler.run_forever(stop, poll=args.poll)
        return 0
    finally:
        scheduler.close()
