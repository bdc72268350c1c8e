"""Running one crawl in this process and summarising it.

Scrapy's reactor cannot be restarted, so a process runs one crawl; the CLI
and the tests start a process per crawl, as a user (or cron) would.

Around the Scrapy run:

* a lock on the collection folder (``DIR/state/crawl.lock``, ``fcntl.flock``
  via :class:`~newsarchive.schedule.lock.SiteLock`): a second crawl into a
  folder in use is refused at once (:class:`~newsarchive.exceptions.BusyError`,
  naming the running crawl's PID and start time); the kernel drops the lock of
  a killed crawl, so the next one simply takes it; the workers of a frontier
  crawl share it (each also takes a slot of its own), so a plain crawl and
  frontier workers never write one folder at once;
* with ``STORE_URI``, the bucket is checked writable before anything is fetched
  (:mod:`newsarchive.store.precheck`);
* signals: the first SIGINT/SIGTERM stops fetching and closes the crawl as
  Scrapy does (pending requests are dropped, the page being extracted
  finishes, pages still waiting for extraction are left to the next start,
  the WARC files are closed); if that takes longer than ``CRAWL_STOP_GRACE``
  seconds, or on a second signal, it stops at once: the WARC writer finishes
  the record it is writing and closes its files, the extraction workers are
  killed, and the next start extracts the sidecars that were not written;
* the outcome (:attr:`CrawlSummary.outcome`): ``interrupted``, ``failed``
  (storage, or no page fetched), ``partial`` (some fetches failed),
  ``time-limited`` (``CLOSESPIDER_TIMEOUT``) or ``ok``, and the exit code the
  CLI gives for it (:meth:`CrawlSummary.exit_code`).
"""

from __future__ import annotations

import fnmatch
import logging
import resource
import signal
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.ossignal import install_shutdown_handlers

from newsarchive.exceptions import BusyError, StorageError
from newsarchive.fetch.outcomes import outcome_counts
from newsarchive.fetch.progress import crawl_counts
from newsarchive.layout import WARC_GZ, Layout
from newsarchive.schedule.lock import SiteLock
from newsarchive.wiring import WIRING_SETTING, CrawlWiring

logger = logging.getLogger(__name__)


@dataclass
class CrawlSummary:
    """What a crawl did, for the end-of-run summary and ``--json``."""

    out: str
    pages: int = 0
    bytes: int = 0
    errors: int = 0
    records: int = 0
    responses: int = 0
    revisits: int = 0
    sidecars: int = 0
    robots_forbidden: int = 0
    truncated: dict[str, int] = field(default_factory=dict)  # WARC-Truncated reason -> responses
    undecodable: int = 0  # bodies archived as sent whose content coding did not decode (not parsed)
    new_articles: int = 0  # articles this collection did not hold (crawl state)
    skipped: int = 0  # known URLs not due for a revisit, not fetched (crawl state)
    blocked: dict[str, int] = field(default_factory=dict)  # fetches the egress policy refused, by reason
    warc_files: list[str] = field(default_factory=list)
    warc_bytes: int = 0
    recovered_files: int = 0
    elapsed: float = 0.0
    peak_rss_mb: float = 0.0
    finish_reason: str = ""
    stored: int = 0
    store: str | None = None
    error: str | None = None
    # Reports (newsarchive.report): render use, the run's id and its HTML report.
    rendered: int = 0
    render_failed: int = 0
    run_id: str | None = None
    report: str | None = None
    failures: dict[str, int] = field(default_factory=dict)  # failed fetches by kind
    refused: dict[str, int] = field(default_factory=dict)  # robots.txt, egress policy
    reconciled_sidecars: int = 0  # sidecars a killed run left unwritten, written now
    interrupted_by: str | None = None  # SIGINT / SIGTERM
    stopped_at_once: bool = False  # a second signal (or the grace period) cut the stop short
    storage_error: bool = False
    extraction_failed: int = 0  # pages whose extraction raised or ran over its limits

    @property
    def failed(self) -> int:
        """Fetches that failed, every kind."""
        return sum(self.failures.values())

    @property
    def outcome(self) -> str:
        """ok, partial, failed, interrupted or time-limited (see the module docstring)."""
        if self.interrupted_by:
            return "interrupted"
        if self.storage_error or (self.failed and not self.pages):
            return "failed"
        if self.failed or self.error or self.extraction_failed:
            return "partial"
        if self.finish_reason == "closespider_timeout":
            return "time-limited"
        return "ok"

    def exit_code(self) -> int:
        """0 ok (or time-limited), 1 some work failed, 3 storage, 130/143 interrupted."""
        if self.interrupted_by:
            return 128 + int(getattr(signal, self.interrupted_by))
        if self.storage_error:
            return 3
        return 1 if self.outcome in ("failed", "partial") else 0

    @property
    def rate(self) -> float:
        """Pages per second."""
        return self.pages / self.elapsed if self.elapsed else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**asdict(self), "pages_per_second": round(self.rate, 2),
                "failed": self.failed, "outcome": self.outcome}

    def text(self) -> str:
        """The human summary printed at the end of a crawl."""
        head = f"crawl finished ({self.finish_reason}) in {self.elapsed:.1f} s"
        if self.outcome != "ok":
            head += f": {self.outcome}"
        if self.interrupted_by:
            how = "stopped at once" if self.stopped_at_once else "stopped cleanly"
            head = f"crawl interrupted by {self.interrupted_by} ({how}) in {self.elapsed:.1f} s"
        lines = [
            head,
            f"  pages fetched   {self.pages} ({self.bytes / 1e6:.2f} MB, {self.rate:.1f} pages/s)",
            f"  errors          {self.failed}" + (
                " (" + ", ".join(f"{k} {v}" for k, v in sorted(self.failures.items())) + ")"
                if self.failures else ""),
            f"  WARC records    {self.records} ({self.responses} responses, "
            f"{self.revisits} revisits)",
            f"  sidecars        {self.sidecars}" + (
                f" ({self.extraction_failed} pages failed extraction)"
                if self.extraction_failed else ""),
            f"  WARC files      {len(self.warc_files)} ({self.warc_bytes / 1e6:.2f} MB) "
            f"in {Layout(Path(self.out)).warc_dir}",
        ]
        if self.skipped or self.new_articles:
            lines.append(
                f"  incremental     {self.new_articles} new articles; {self.skipped} known "
                "URLs not due, skipped"
            )
        if self.truncated:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.truncated.items()))
            lines.append(f"  truncated       {sum(self.truncated.values())} bodies archived cut ({reasons})")
        if self.undecodable:
            lines.append(f"  undecodable     {self.undecodable} bodies archived as sent, not parsed")
        if self.robots_forbidden:
            lines.append(f"  robots.txt      {self.robots_forbidden} URLs not fetched (disallowed)")
        if self.blocked:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.blocked.items()))
            lines.append(f"  egress blocked  {sum(self.blocked.values())} URLs not fetched ({reasons})")
        if self.refused.get("url_length"):
            lines.append(f"  URL too long    {self.refused['url_length']} links not followed (URLLENGTH_LIMIT)")
        if self.recovered_files:
            lines.append(f"  recovered       {self.recovered_files} files left by an interrupted run")
        if self.reconciled_sidecars:
            lines.append(f"  reconciled      {self.reconciled_sidecars} archived pages extracted "
                         "that an interrupted run left without a sidecar")
        if self.store:
            lines.append(f"  uploaded        {self.stored} files to {self.store}")
        if self.error:
            lines.append(f"  ERROR           {self.error}")
        lines.append(f"  crawl log       {Layout(Path(self.out)).crawl_log}")
        if self.report:
            lines.append(f"  report          {self.report}")
        return "\n".join(lines)


def crawl_settings(out: Path, overrides: dict[str, Any] | None = None) -> Settings:
    """newsarchive's settings for a crawl into ``out``, with ``overrides`` on top."""
    settings = Settings()
    settings.setmodule("newsarchive.settings", priority="project")
    # Scrapy's remote control (an HTTP server on localhost running Python code sent to
    # it) is off, as the telnet console is: nothing here uses it, and importing it
    # (aiohttp) and starting its server cost every crawl ~0.2 CPU-s (issue #19). Left
    # out of the base list, not set to None: Scrapy imports every listed component.
    settings.set("EXTENSIONS_BASE", {
        name: order for name, order in settings.getdict("EXTENSIONS_BASE").items()
        if not name.endswith(".RemoteControl")}, priority="project")
    # The crawl's services, handed to its components (newsarchive.wiring).
    settings.set(WIRING_SETTING, new_wiring(), priority="cmdline")
    settings.set("WARC_DIR", str(out), priority="cmdline")
    Layout(out).logs_dir.mkdir(parents=True, exist_ok=True)
    settings.set("LOG_FILE", str(Layout(out).logs_dir / "scrapy.log"), priority="cmdline")
    settings.set("LOG_FILE_APPEND", True, priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    if not settings.get("FRONTIER_URL"):
        # Without a shared frontier its ack middleware is off (NotConfigured), but
        # Scrapy would still import it, and with it scrapy-redis and redis (~0.1 CPU-s).
        for name in ("DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES"):
            components = settings.getdict(name)
            if components.pop(FRONTIER_ACK, None) is not None:
                settings.set(name, components, priority=settings.getpriority(name) or "project")
    return settings


FRONTIER_ACK = "newsarchive.fetch.frontier.FrontierAckMiddleware"


def _read_pages(stream: BinaryIO, name: str) -> Iterable[Any]:
    """The archived pages of a WARC, for the reconcile scan; extraction's modules are
    imported only when a scan reads a file (~0.1 CPU-s otherwise spent at every start)."""
    from newsarchive.extract.archive import PageReader

    return PageReader(stream, name)


def new_wiring() -> CrawlWiring:
    """The wiring of one crawl, with the later stages' parts the capture stage uses."""
    from newsarchive.store.digest import RunningDigest

    return CrawlWiring(file_digest=RunningDigest, read_pages=_read_pages)


class Interrupted(KeyboardInterrupt):
    """SIGINT/SIGTERM before the crawl started (nothing was opened yet)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _interrupted(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


class _Process(CrawlerProcess):
    """Scrapy's process, with the stop rules of the module docstring."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.signum: int | None = None
        self.hard = False
        self.grace = settings.getfloat("CRAWL_STOP_GRACE")
        self.wiring: CrawlWiring = settings[WIRING_SETTING]

    def _signal_shutdown(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            # Scrapy installs this handler again once the reactor runs: a signal
            # that came before that was the first one.
            self._signal_kill(signum, frame)
            return
        self.signum = signum
        from twisted.internet import reactor

        reactor.callFromThread(self._extract_no_more)
        super()._signal_shutdown(signum, frame)  # the next signal goes to _signal_kill
        timer = threading.Timer(self.grace, self._stop_at_once)
        timer.daemon = True
        timer.start()

    def _extract_no_more(self) -> None:
        """Scrapy's close waits for every page queued for extraction: with many
        queued on a busy machine, longer than a Ctrl-C may take. They are left
        to the next start instead."""
        if self.wiring.sidecars is not None:
            self.wiring.sidecars.stop_soon()

    def _signal_kill(self, signum: int, frame: Any) -> None:
        install_shutdown_handlers(signal.SIG_IGN)
        self._stop_at_once()

    def _stop_at_once(self) -> None:
        """Leave the reactor now (no shutdown triggers: they wait for the graceful
        close); :func:`run_crawl` then stops the writer and the workers."""
        from twisted.internet import reactor

        if not self.hard:
            self.hard = True
            reactor.callFromThread(reactor.crash)  # type: ignore[misc]  # zope interface attribute


def _stop_children(wiring: CrawlWiring) -> None:
    """After a stop at once: whole records only, no extraction worker, browser or
    pool thread left.

    The reactor left without its shutdown triggers, so nothing closed the browser
    or stopped Twisted's thread pool: the CLI exits with ``os._exit`` anyway, but a
    caller of :func:`run_crawl` would keep Chromium running and could not exit (the
    pool's threads are not daemons).
    """
    from twisted.internet import reactor

    from newsarchive.fetch.render import procs

    if wiring.sidecars is not None:
        wiring.sidecars.abort()
    service = wiring.capture
    if service is not None:
        service.abort()
    procs.kill_browsers(procs.browser_processes())
    pool = getattr(reactor, "threadpool", None)
    if pool is not None:
        # Idle workers end at once, a busy one after its task; not joined here.
        threading.Thread(target=pool.stop, name="newsarchive-pool-stop", daemon=True).start()


def lock_collection(out: Path, *, shared: bool = False) -> SiteLock:
    """Take the collection's lock, or raise :class:`BusyError` naming its holder.

    A plain crawl takes it alone; the workers of a frontier crawl take it
    ``shared``, so a plain crawl and frontier workers never write one folder
    at the same time (their crawl states would disagree).
    """
    lock = SiteLock(Layout(out).lock)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    what = "frontier worker" if shared else "crawl"
    if not lock.acquire(note=f"{what} started {started}", shared=shared):
        pid, _, note = lock.holder_note().partition(" ")
        if shared:
            raise BusyError(
                f"{out} is in use by a crawl that is not a frontier worker (pid {pid or '?'}, "
                f"{note or 'start unknown'}); wait for it to finish or use another --out folder"
            )
        raise BusyError(
            f"{out} is in use by another crawl (pid {pid or '?'}, {note or 'start unknown'}); "
            "wait for it to finish or crawl into another --out folder"
        )
    return lock


def run_crawl(
    out: Path,
    spider_kwargs: dict[str, Any],
    settings_overrides: dict[str, Any] | None = None,
) -> CrawlSummary:
    """Crawl with the ``news`` spider into the collection folder ``out``."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create {out}: {exc.strerror or exc}") from exc
    overrides = dict(settings_overrides or {})
    if overrides.get("FRONTIER_URL"):
        # One of many workers in this folder: a slot of its own (newsarchive.fetch.workers).
        from newsarchive.capture.naming import safe_host
        from newsarchive.fetch.workers import frontier_overrides, take_slot

        # The folder's lock, shared: many workers, never beside a plain crawl.
        folder = lock_collection(out, shared=True)
        try:
            lock, slot = take_slot(out, overrides.get("FRONTIER_WORKER") or None, safe_host())
        except BaseException:
            folder.release()
            raise
        locks = [lock, folder]
        settings_overrides = {**overrides, **frontier_overrides(slot)}
    else:
        locks = [lock_collection(out)]
    install_shutdown_handlers(_interrupted)
    try:
        return _run_locked(out, spider_kwargs, settings_overrides)
    finally:
        for lock in locks:
            lock.release()


def _run_locked(
    out: Path, spider_kwargs: dict[str, Any], settings_overrides: dict[str, Any] | None
) -> CrawlSummary:
    settings = crawl_settings(out, settings_overrides)
    # A frontier worker shares the folder: its files are those named with its slot.
    mine = f"*-{settings.get('WARC_HOST')}{WARC_GZ}" if settings.get("WARC_HOST") else f"*{WARC_GZ}"
    before = {p.name for p in Layout(out).warcs() if fnmatch.fnmatchcase(p.name, mine)}
    store_uri = settings.get("STORE_URI")
    if store_uri and str(store_uri).startswith("s3://"):
        from newsarchive.store.precheck import check_store

        check_store(store_uri, settings.get("STORE_ENDPOINT_URL") or None,
                    settings.get("STORE_REGION") or None)
    from spiders.news import NewsSpider

    process = _Process(settings)
    # From here on (opening the WARC files, the reconcile scan) a signal stops
    # the crawl the same way; Scrapy would install these only once the reactor runs.
    install_shutdown_handlers(process._signal_shutdown)
    crawler = process.create_crawler(NewsSpider)
    started = time.monotonic()
    process.crawl(crawler, **spider_kwargs)
    process.start()
    if process.hard:
        _stop_children(process.wiring)
    stats = crawler.stats.get_stats() if crawler.stats else {}
    counts = crawl_counts(stats)
    failures, refused = outcome_counts(stats)
    after = [p for p in Layout(out).warcs()
             if p.name not in before and fnmatch.fnmatchcase(p.name, mine)]
    error = stats.get("warc/error") or stats.get("store/error")
    summary = CrawlSummary(
        out=str(out),
        pages=counts["pages"],
        bytes=counts["bytes"],
        errors=sum(failures.values()),
        records=int(stats.get("warc/records", 0)),
        responses=int(stats.get("warc/responses", 0)),
        revisits=int(stats.get("warc/revisits", 0)),
        sidecars=int(stats.get("warc/sidecars", 0)),
        robots_forbidden=int(stats.get("robotstxt/forbidden", 0)),
        truncated={k.rsplit("/", 1)[1]: int(v) for k, v in stats.items() if k.startswith("warc/truncated/")},
        undecodable=int(stats.get("fetch/undecodable", 0)),
        new_articles=int(stats.get("state/new_articles", 0)),
        skipped=int(stats.get("state/skipped", 0)),
        blocked={k.rpartition("/")[2]: int(v) for k, v in stats.items() if k.startswith("egress/blocked/")},
        warc_files=[str(p) for p in after],
        warc_bytes=sum(p.stat().st_size for p in after if p.exists()),
        recovered_files=int(stats.get("warc/recovered_files", 0)),
        elapsed=time.monotonic() - started,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        finish_reason=str(stats.get("finish_reason", "")) or ("stopped" if process.hard else ""),
        stored=int(stats.get("store/uploaded", 0)) + int(stats.get("store/already_stored", 0)),
        store=settings.get("STORE_URI") or None,
        error=error,
        failures=failures,
        refused=refused,
        reconciled_sidecars=int(stats.get("sidecar/reconciled", 0)),
        interrupted_by=signal.Signals(process.signum).name if process.signum else None,
        stopped_at_once=process.hard,
        storage_error=bool(error),
        extraction_failed=int(stats.get("sidecar/errors", 0)),
        rendered=int(stats.get("render/pages", 0)),
        render_failed=int(stats.get("render/failed", 0)) + int(stats.get("render/timeouts", 0)),
    )
    return summary
