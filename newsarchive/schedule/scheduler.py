"""The scheduler: each site file on its cron expression, never twice at once.

One long-running process (``newsarchive schedule SITES_DIR``) holds a
:class:`Scheduler`. Each :meth:`Scheduler.tick` first settles runs that
ended, then starts the sites whose next cron time has come. A site whose
previous run is still going -- started by this scheduler, or by another one
(its :class:`~newsarchive.schedule.lock.SiteLock` is held) -- is skipped for
that slot, with a log line; missed slots are not caught up, so a long outage
does not end in a burst of crawls.

Time and processes are injected: a :class:`Clock` (``now``/``sleep``) and a
:class:`Launcher` that starts a run and returns a :class:`RunHandle` to poll.
The real ones read the system clock and start ``newsarchive crawl SITE.yaml
--out COLLECTION --json`` as a subprocess; tests pass their own, so two cron
slots pass in microseconds. Cron expressions are read in the clock's time
zone (the machine's local zone by default; set ``TZ`` to change it).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from croniter import croniter

from newsarchive.discover.site import Site, load_site
from newsarchive.exceptions import ConfigError
from newsarchive.layout import Layout
from newsarchive.schedule.lock import SiteLock
from newsarchive.schedule.runs import RunOutcome, RunRecord, RunsDB

logger = logging.getLogger(__name__)

RUNS_DB = "runs.sqlite"
LOCKS_DIR = "locks"


# --- seams ----------------------------------------------------------------------------
class Clock(Protocol):
    """Where the scheduler gets the time, and how it waits."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The machine's clock, in its local time zone."""

    def __init__(self, stop: threading.Event | None = None) -> None:
        self.stop = stop or threading.Event()

    def now(self) -> datetime:
        """Aware local time."""
        return datetime.now().astimezone()

    def sleep(self, seconds: float) -> None:
        """Wait, but wake at once when asked to stop."""
        self.stop.wait(max(0.0, seconds))


@dataclass(frozen=True)
class Job:
    """One run to start: which site, into which collection, where its output goes."""

    site: Site
    collection: Path
    output: Path  # the crawl's --json summary
    log: Path  # the crawl's stderr
    lock: SiteLock
    started: datetime


class RunHandle(Protocol):
    """A run in progress."""

    pid: int | None

    def poll(self) -> RunOutcome | None:
        """The outcome once the run ended, else ``None``."""

    def terminate(self) -> None:
        """Ask the run to stop (it closes its WARC files first)."""


class Launcher(Protocol):
    """Starts runs."""

    def launch(self, job: Job) -> RunHandle: ...


# --- the real launcher --------------------------------------------------------------------
def read_outcome(exit_code: int, output: Path, log: Path) -> RunOutcome:
    """A finished crawl's outcome from its ``--json`` output and stderr files."""
    summary = None
    message = None
    try:
        text = output.read_text(encoding="utf-8")
        summary = json.loads(text) if text.strip() else None
    except (OSError, ValueError):
        summary = None
    if exit_code != 0 or summary is None:
        try:
            lines = [ln for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
        except OSError:
            lines = []
        errors = [ln for ln in lines if "error" in ln.lower()]
        message = (errors or lines or [f"exit code {exit_code}"])[-1][:500]
    return RunOutcome(exit_code=exit_code, summary=summary, message=message)


class CrawlProcess:
    """A ``newsarchive crawl`` subprocess."""

    def __init__(self, popen: subprocess.Popen[bytes], job: Job) -> None:
        self.popen = popen
        self.job = job
        self.pid: int | None = popen.pid

    def poll(self) -> RunOutcome | None:
        """The outcome once the process exited."""
        code = self.popen.poll()
        if code is None:
            return None
        return read_outcome(code, self.job.output, self.job.log)

    def terminate(self) -> None:
        """SIGTERM: Scrapy stops gracefully and closes the WARC files."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)


class SubprocessLauncher:
    """Runs ``newsarchive crawl SITE.yaml --out COLLECTION --json`` per job."""

    def __init__(self, extra_args: Iterable[str] = ()) -> None:
        self.extra_args = list(extra_args)

    def command(self, job: Job) -> list[str]:
        """The command line of a job's crawl."""
        return [
            sys.executable, "-m", "newsarchive", "crawl", str(job.site.path),
            "--out", str(job.collection), "--json", *self.extra_args,
        ]

    def launch(self, job: Job) -> CrawlProcess:
        """Start the crawl; it inherits the site's lock descriptor."""
        job.output.parent.mkdir(parents=True, exist_ok=True)
        assert job.lock.fd is not None
        with open(job.output, "wb") as out, open(job.log, "wb") as err:
            popen = subprocess.Popen(  # noqa: S603 -- our own command, no shell
                self.command(job),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                pass_fds=(job.lock.fd,),
                close_fds=True,
            )
        return CrawlProcess(popen, job)


# --- sites ---------------------------------------------------------------------------------
def load_sites(folder: Path) -> list[Site]:
    """Every ``*.yaml``/``*.yml`` site file of ``folder``, validated; names must be unique."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder of site files; give the folder holding *.yaml")
    paths = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if not paths:
        raise ConfigError(f"no site files (*.yaml) in {folder}; write one with 'newsarchive site new URL'")
    sites: list[Site] = []
    names: dict[str, Path] = {}
    for path in paths:
        site = load_site(path)
        if site.name in names:
            raise ConfigError(
                f"{path}: name '{site.name}' is already used by {names[site.name]}; "
                "give each site its own name"
            )
        names[site.name] = path
        sites.append(site)
    return sites


# --- the scheduler ---------------------------------------------------------------------------
@dataclass
class Entry:
    """A scheduled site and its state in this process."""

    site: Site
    next_at: datetime | None
    handle: RunHandle | None = None
    run_id: int | None = None
    lock: SiteLock | None = None


@dataclass
class TickReport:
    """What one tick did (for tests and the ``--once`` mode)."""

    started: list[str] = field(default_factory=list)
    finished: list[RunRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%S")


class Scheduler:
    """Starts each site on its cron expression; see the module docstring."""

    def __init__(
        self,
        sites: Iterable[Site],
        collections: Path,
        *,
        launcher: Launcher | None = None,
        clock: Clock | None = None,
        runs: RunsDB | None = None,
    ) -> None:
        self.collections = Path(collections)
        self.launcher: Launcher = launcher or SubprocessLauncher()
        self.clock: Clock = clock or SystemClock()
        self.runs = runs or RunsDB(self.collections / RUNS_DB)
        now = self.clock.now()
        self.entries = [
            Entry(site, croniter(site.schedule, now).get_next(datetime) if site.schedule else None)
            for site in sites
        ]
        self.settle_orphans()

    # -- helpers ----------------------------------------------------------------------------
    def collection(self, site: Site) -> Path:
        """The collection folder of a site: its ``collection`` key, or COLLECTIONS/NAME."""
        return site.collection or self.collections / site.name

    def lock(self, site: Site) -> SiteLock:
        """The lock file of a site."""
        return SiteLock(self.collections / LOCKS_DIR / f"{site.name}.lock")

    def settle_orphans(self) -> None:
        """Settle rows left ``running`` by a scheduler that died.

        If the site's lock is free the crawl is gone: its ``--json`` output (if
        it got that far) says how it went, else the run is ``lost``. If the lock
        is held, the orphaned crawl is still running; it is left alone.
        """
        by_name = {e.site.name: e.site for e in self.entries}
        for row in self.runs.running():
            site = by_name.get(row.site)
            lock = self.lock(site) if site else SiteLock(self.collections / LOCKS_DIR / f"{row.site}.lock")
            if not lock.acquire():
                continue
            try:
                outcome = (
                    read_outcome(0, Path(row.output), Path(row.log or os.devnull))
                    if row.output
                    else None
                )
                if outcome is not None and outcome.summary is not None:
                    record = self.runs.finish(row.id, self.clock.now(), outcome)
                    logger.info("%s: run %d settled after a scheduler restart: %s", row.site, row.id, record.status)
                else:
                    self.runs.mark_lost(row.id, "the scheduler stopped while it ran; no summary")
                    logger.warning("%s: run %d was lost (the scheduler stopped while it ran)", row.site, row.id)
            finally:
                lock.release()

    # -- the work ----------------------------------------------------------------------------
    def start(self, entry: Entry, now: datetime) -> bool:
        """Start a run of ``entry`` now, unless one is still in progress."""
        site = entry.site
        if entry.handle is not None:
            logger.warning("%s: previous run (pid %s) still in progress; skipping the %s run",
                           site.name, entry.handle.pid, now.strftime("%H:%M"))
            return False
        lock = self.lock(site)
        if not lock.acquire():
            logger.warning("%s: locked by another process (pid %s, %s); skipping the %s run",
                           site.name, lock.holder(), lock.path, now.strftime("%H:%M"))
            return False
        collection = self.collection(site)
        logs = Layout(collection).logs_dir / "runs"
        output = logs / f"{_stamp(now)}.json"
        log = logs / f"{_stamp(now)}.log"
        run_id = self.runs.start(site.name, collection, now, output=output, log=log)
        job = Job(site, collection, output, log, lock, now)
        try:
            handle = self.launcher.launch(job)
        except OSError as exc:
            lock.release()
            self.runs.finish(run_id, now, RunOutcome(exit_code=127, message=f"cannot start: {exc}"))
            logger.error("%s: cannot start the crawl: %s", site.name, exc)
            return False
        if handle.pid is not None:
            lock.note_pid(handle.pid)
        self.runs.set_pid(run_id, handle.pid)
        entry.handle, entry.run_id, entry.lock = handle, run_id, lock
        logger.info("%s: run %d started (pid %s) into %s", site.name, run_id, handle.pid, collection)
        return True

    def reap(self, entry: Entry) -> RunRecord | None:
        """Settle ``entry``'s run if it ended."""
        if entry.handle is None:
            return None
        outcome = entry.handle.poll()
        if outcome is None:
            return None
        assert entry.run_id is not None
        record = self.runs.finish(entry.run_id, self.clock.now(), outcome)
        if entry.lock is not None:
            entry.lock.release()
        entry.handle = entry.run_id = entry.lock = None
        logger.info(
            "%s: run %d %s in %.1f s: %s pages, %s new articles, %s errors, %d WARC files%s",
            record.site, record.id,
            "finished" if record.status == "ok" else f"ended {record.status.upper()}",
            record.duration or 0.0, record.pages or 0, record.new_articles or 0,
            record.errors or 0, len(record.warc_files),
            f" ({record.message})" if record.status != "ok" and record.message else "",
        )
        return record

    def tick(self) -> TickReport:
        """Settle ended runs, then start the sites that are due."""
        report = TickReport()
        for entry in self.entries:
            record = self.reap(entry)
            if record is not None:
                report.finished.append(record)
        now = self.clock.now()
        for entry in self.entries:
            if entry.next_at is None or entry.next_at > now:
                continue
            assert entry.site.schedule is not None
            entry.next_at = croniter(entry.site.schedule, now).get_next(datetime)
            if self.start(entry, now):
                report.started.append(entry.site.name)
            else:
                report.skipped.append(entry.site.name)
        return report

    def run_now(self, names: Iterable[str] | None = None) -> TickReport:
        """Start the named sites (all if ``None``) now, whatever their schedule."""
        wanted = set(names) if names is not None else None
        report = TickReport()
        now = self.clock.now()
        for entry in self.entries:
            if wanted is None or entry.site.name in wanted:
                (report.started if self.start(entry, now) else report.skipped).append(entry.site.name)
        return report

    @property
    def busy(self) -> bool:
        """Whether a run started here is in progress."""
        return any(e.handle is not None for e in self.entries)

    def wait_idle(self, poll: float = 1.0) -> list[RunRecord]:
        """Wait for the runs started here to end; return their records."""
        done: list[RunRecord] = []
        while self.busy:
            for entry in self.entries:
                record = self.reap(entry)
                if record is not None:
                    done.append(record)
            if self.busy:
                self.clock.sleep(poll)
        return done

    def next_wake(self, poll: float) -> float:
        """Seconds to sleep: until the next cron slot, or ``poll`` while runs are going."""
        now = self.clock.now()
        slots = [e.next_at for e in self.entries if e.next_at is not None]
        wait = min(((s - now).total_seconds() for s in slots), default=3600.0)
        if self.busy:
            wait = min(wait, poll)
        return max(0.0, min(wait, 3600.0))

    def run_forever(self, stop: threading.Event, poll: float = 2.0, grace: float = 300.0) -> None:
        """Tick until ``stop`` is set; then ask running crawls to stop and settle them."""
        scheduled = [e.site.name for e in self.entries if e.next_at is not None]
        logger.info("scheduling %d sites: %s", len(scheduled), ", ".join(scheduled) or "none")
        for e in self.entries:
            if e.next_at is None:
                logger.info("%s: no schedule in %s; not run", e.site.name, e.site.path)
            else:
                logger.info("%s: next run at %s", e.site.name, e.next_at.isoformat(timespec="minutes"))
        while not stop.is_set():
            self.tick()
            self.clock.sleep(self.next_wake(poll))
        for entry in self.entries:
            if entry.handle is not None:
                logger.info("%s: stopping run %s", entry.site.name, entry.run_id)
                entry.handle.terminate()
        deadline = time.monotonic() + grace
        while self.busy and time.monotonic() < deadline:
            for entry in self.entries:
                self.reap(entry)
            time.sleep(0.5)

    def close(self) -> None:
        """Release locks and close the runs database."""
        for entry in self.entries:
            if entry.lock is not None:
                entry.lock.release()
        self.runs.close()
