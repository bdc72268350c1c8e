"""The Scrapy downloader middleware that archives every response.

It sits at priority 950, between the downloader and HttpCompressionMiddleware
(590), so ``process_response`` sees each response -- every redirect hop, and
robots.txt -- with the body exactly as received: still gzip-encoded when the
server gzipped it (storing a decompressed body still labelled gzip is the
classic bug of Scrapy WARC plugins). It never touches ``response.text``:
decoding a still-compressed body is what makes Scrapy run charset detection
over gzip bytes.

A body the download handler spooled to disk (:mod:`newsarchive.fetch.body`)
is streamed into its record from there, not from ``response.body`` (which
holds only its first ``FETCH_PARSE_MAXSIZE`` bytes); a body it cut is
archived with ``WARC-Truncated`` (WARC 1.1: ``length``, ``time`` or
``disconnect``) and counted in ``warc/truncated/REASON``.
"""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.utils.defer import deferred_from_coro

from newsarchive import SOFTWARE, meta
from newsarchive import signals as na_signals
from newsarchive.capture import records
from newsarchive.capture.service import WarcWriterService
from newsarchive.exceptions import NewsarchiveError
from newsarchive.fetch.body import SPOOL_META, truncation
from newsarchive.fetch.exchange import Exchange
from newsarchive.switches import require
from newsarchive.wiring import wiring_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

logger = logging.getLogger(__name__)

SKIP_META = meta.WARC_SKIP
TICKET_META = meta.WARC_TICKET
MARK_META = meta.WARC_MARK


def warcinfo_fields(crawler: Crawler) -> dict[str, str]:
    """The ``warcinfo`` fields: software, host, operator, robots policy, settings."""
    s = crawler.settings
    return {
        "software": f"{SOFTWARE} (Scrapy, warcio)",
        "hostname": socket.gethostname(),
        "operator": s.get("WARC_OPERATOR") or "",
        "http-header-user-agent": s.get("USER_AGENT") or "",
        "robots": "obey" if s.getbool("ROBOTSTXT_OBEY") else "ignore",
        "description": s.get("WARC_DESCRIPTION") or "",
        "conformsTo": "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "crawl-settings": (
            f"concurrent-requests={s.getint('CONCURRENT_REQUESTS')}; "
            f"per-domain={s.getint('CONCURRENT_REQUESTS_PER_DOMAIN')}; "
            f"download-delay={s.getfloat('DOWNLOAD_DELAY')}; "
            f"autothrottle={s.getbool('AUTOTHROTTLE_ENABLED')}; "
            f"depth-limit={s.getint('DEPTH_LIMIT')}"
        ),
    }


def _shared_dedup(settings: Any) -> Any:
    """With ``FRONTIER_URL``, the dedup index all workers share; else None (SQLite)."""
    if not settings.get("FRONTIER_URL"):
        return None
    from newsarchive.capture.redis_dedup import open_dedup_index

    return open_dedup_index(settings)


def _shared_written(settings: Any) -> Any:
    """With ``FRONTIER_URL``, what notes a request archived for all workers; else None."""
    if not settings.get("FRONTIER_URL"):
        return None
    from newsarchive.fetch.frontier import written_marker

    return written_marker(settings)


def _header_pairs(headers: Any) -> list[tuple[bytes, bytes]]:
    return [(bytes(k), bytes(v)) for k, values in headers.items() for v in values]


class WarcCaptureMiddleware:
    """Hands every response to the WARC writer service."""

    def __init__(self, crawler: Crawler, service: WarcWriterService) -> None:
        self.crawler = crawler
        self.service = service
        self._closing = False
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        """Build the writer service from ``WARC_*`` settings."""
        s = crawler.settings
        require(s, "WARC_ENABLED")

        def on_close(path: Path, kind: str, **digest: Any) -> None:
            # Sent from the writer thread; handlers must be thread-safe.
            crawler.signals.send_catch_log(na_signals.file_closed, path=path, kind=kind,
                                           **digest)

        wiring = wiring_of(crawler)
        service = WarcWriterService(
            Path(s.get("WARC_DIR")),
            prefix=s.get("WARC_PREFIX"),
            max_size=s.getint("WARC_MAX_SIZE"),
            gzip_level=s.getint("WARC_GZIP_LEVEL"),
            info=warcinfo_fields(crawler),
            dedup=s.getbool("WARC_DEDUP"),
            queue_size=s.getint("WARC_QUEUE_SIZE"),
            fsync=s.get("WARC_FSYNC"),
            on_close=on_close,
            redaction=records.Redaction.from_settings(s),
            digest=wiring.file_digest,
            read_pages=wiring.read_pages,
            host=s.get("WARC_HOST") or None,
            dedup_index=_shared_dedup(s),
            on_written=_shared_written(s),
            # The index extension builds each WARC's index from the lines made as it
            # was written (newsarchive.capture.indexlines), not by reading it again.
            index_lines=s.getbool("INDEX_ENABLED"),
        )
        wiring.capture = service  # for the pipeline and the other middlewares
        return cls(crawler, service)

    def spider_opened(self, spider: Any) -> None:
        """Announce files recovered from an earlier crash, so they get uploaded/indexed."""
        for rec in self.service.recovered:
            if rec.records:
                self.crawler.signals.send_catch_log(
                    na_signals.file_closed, path=rec.path, kind=rec.kind
                )
        if self.service.recovered:
            self.crawler.stats.set_value("warc/recovered_files", len(self.service.recovered))
        found = self.service.reconciled
        if found.files:
            self.crawler.stats.set_value("warc/reconciled_files", found.files)
        if wiring_of(self.crawler).sidecars is None:
            # No sidecars in this crawl: nothing waits for the reconciled pages.
            self.service.settle()

    def spider_closed(self, spider: Any, reason: str) -> None:
        """Write what is queued and close the files."""
        try:
            self.service.close()
        finally:
            stats = self.service.stats
            for key, value in vars(stats).items():
                self.crawler.stats.set_value(f"warc/{key}", value)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        """Queue the exchange; the response goes on unchanged."""
        spool = request.meta.pop(SPOOL_META, None)  # popped: a redirect copies the meta
        if request.meta.get(SKIP_META) or "cached" in response.flags:
            if spool is not None:
                spool.close()
            return response
        warc_headers = {}
        reason = truncation(response.flags)
        if reason is not None:
            warc_headers["WARC-Truncated"] = reason
            self.crawler.stats.inc_value(f"warc/truncated/{reason}")
        exchange = Exchange(
            url=response.url,
            method=request.method,
            request_headers=_header_pairs(request.headers),
            status=response.status,
            response_headers=_header_pairs(response.headers),
            body=response.body if spool is None else b"",
            spool=spool,
            fetched_at=datetime.now(UTC),
            protocol=response.protocol or "HTTP/1.1",
            request_body=request.body or b"",
            ip_address=str(response.ip_address) if response.ip_address else None,
            warc_headers=warc_headers,
            not_modified_digest=request.meta.get(meta.NOT_MODIFIED)
            if response.status == 304 else None,
            mark=request.meta.get(MARK_META),
        )
        try:
            request.meta[TICKET_META] = self.service.submit(exchange)
        except NewsarchiveError as exc:
            # The archive can no longer be written (disk full...): stop the crawl
            # rather than fetch pages we cannot keep.
            logger.error("%s", exc)
            self.crawler.stats.set_value("warc/error", str(exc))
            if self.crawler.engine is not None and not self._closing:
                self._closing = True
                deferred_from_coro(
                    self.crawler.engine.close_spider_async(reason="warc_write_failed")
                )
            return response
        self.crawler.stats.inc_value("warc/queued")
        return response
