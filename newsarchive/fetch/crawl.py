"""Running one crawl in this process and summarising it.

Scrapy's reactor cannot be restarted, so a process runs one crawl; the CLI
and the tests start a process per crawl, as a user (or cron) would.
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from newsarchive.exceptions import StorageError
from newsarchive.fetch.progress import crawl_counts

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

    @property
    def rate(self) -> float:
        """Pages per second."""
        return self.pages / self.elapsed if self.elapsed else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**asdict(self), "pages_per_second": round(self.rate, 2)}

    def text(self) -> str:
        """The human summary printed at the end of a crawl."""
        lines = [
            f"crawl finished ({self.finish_reason}) in {self.elapsed:.1f} s",
            f"  pages fetched   {self.pages} ({self.bytes / 1e6:.2f} MB, {self.rate:.1f} pages/s)",
            f"  errors          {self.errors}",
            f"  WARC records    {self.records} ({self.responses} responses, "
            f"{self.revisits} revisits)",
            f"  sidecars        {self.sidecars}",
            f"  WARC files      {len(self.warc_files)} ({self.warc_bytes / 1e6:.2f} MB) "
            f"in {Path(self.out) / 'warc'}",
        ]
        if self.skipped or self.new_articles:
            lines.append(
                f"  incremental     {self.new_articles} new articles; {self.skipped} known "
                "URLs not due, skipped"
            )
        if self.robots_forbidden:
            lines.append(f"  robots.txt      {self.robots_forbidden} URLs not fetched (disallowed)")
        if self.blocked:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.blocked.items()))
            lines.append(f"  egress blocked  {sum(self.blocked.values())} URLs not fetched ({reasons})")
        if self.recovered_files:
            lines.append(f"  recovered       {self.recovered_files} files left by an interrupted run")
        if self.store:
            lines.append(f"  uploaded        {self.stored} files to {self.store}")
        if self.error:
            lines.append(f"  ERROR           {self.error}")
        lines.append(f"  crawl log       {Path(self.out) / 'logs' / 'crawl.log'}")
        return "\n".join(lines)


def crawl_settings(out: Path, overrides: dict[str, Any] | None = None) -> Settings:
    """newsarchive's settings for a crawl into ``out``, with ``overrides`` on top."""
    settings = Settings()
    settings.setmodule("newsarchive.settings", priority="project")
    settings.set("WARC_DIR", str(out), priority="cmdline")
    (out / "logs").mkdir(parents=True, exist_ok=True)
    settings.set("LOG_FILE", str(out / "logs" / "scrapy.log"), priority="cmdline")
    settings.set("LOG_FILE_APPEND", True, priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


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
    before = {p.name for p in (out / "warc").glob("*.warc.gz")}
    settings = crawl_settings(out, settings_overrides)
    from spiders.news import NewsSpider

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(NewsSpider)
    started = time.monotonic()
    process.crawl(crawler, **spider_kwargs)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    counts = crawl_counts(stats)
    after = sorted(p for p in (out / "warc").glob("*.warc.gz") if p.name not in before)
    summary = CrawlSummary(
        out=str(out),
        pages=counts["pages"],
        bytes=counts["bytes"],
        errors=counts["errors"],
        records=int(stats.get("warc/records", 0)),
        responses=int(stats.get("warc/responses", 0)),
        revisits=int(stats.get("warc/revisits", 0)),
        sidecars=int(stats.get("warc/sidecars", 0)),
        robots_forbidden=int(stats.get("robotstxt/forbidden", 0)),
        new_articles=int(stats.get("state/new_articles", 0)),
        skipped=int(stats.get("state/skipped", 0)),
        blocked={k.rpartition("/")[2]: int(v) for k, v in stats.items() if k.startswith("egress/blocked/")},
        warc_files=[str(p) for p in after],
        warc_bytes=sum(p.stat().st_size for p in after),
        recovered_files=int(stats.get("warc/recovered_files", 0)),
        elapsed=time.monotonic() - started,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        finish_reason=str(stats.get("finish_reason", "")),
        stored=int(stats.get("store/uploaded", 0)) + int(stats.get("store/already_stored", 0)),
        store=settings.get("STORE_URI") or None,
        error=stats.get("warc/error") or stats.get("store/error"),
    )
    return summary
