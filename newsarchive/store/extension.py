"""Scrapy extension: upload each closed collection file to S3 while the crawl runs.

Enabled by ``STORE_URI = "s3://BUCKET/PREFIX/COLLECTION"`` (plus the other
``STORE_*`` settings); the collection folder ``WARC_DIR`` is the local spool.
It listens for :data:`newsarchive.signals.file_closed`, hands the file to a
background thread (the reactor never waits for S3) that records its digest in
the spool journal (the one the WARC writer computed while writing, sent with
the signal; files sent without one are read once) and uploads it, and on ``spider_closed`` waits until the
queue is drained, then reports under the ``store/`` stats.

Local copies are removed only once stored *and* once every file of their set
(the WARC, its sidecars, its index and its catalog parts, as far as
``SIDECAR_ENABLED``, ``INDEX_ENABLED`` and ``INDEX_CATALOG`` produce them) has
closed: the indexer (its own worker, :mod:`newsarchive.index.extension`) reads
the WARC, and the catalog builder reads the index and sidecars; the catalog
part closes last. Before its last pass the uploader waits for the indexer (the
crawl's wiring, :mod:`newsarchive.wiring`).
Sets that never complete (a WARC without articles has no sidecars) are removed
at the end of the crawl. ``STORE_KEEP_LOCAL = True`` keeps the local collection.
Files left over from an earlier, interrupted crawl are picked up at start.
A bucket, credential or endpoint problem closes the spider with reason
``store_error`` and a one-line message; everything stays in the spool for
``newsarchive upload``.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from newsarchive.exceptions import UserError
from newsarchive.layout import file_stem
from newsarchive.signals import file_closed
from newsarchive.store import is_remote, store_for
from newsarchive.store.digest import FileDigest
from newsarchive.store.spool import Entry
from newsarchive.store.uploader import Uploader, UploadOptions, collection_uri
from newsarchive.wiring import wiring_of

logger = logging.getLogger(__name__)

_STOP = object()


_base_name = file_stem


def set_kinds(settings: Any) -> set[str]:
    """The kinds of file a WARC's set has in this crawl (``file_closed`` kinds)."""
    kinds = {"warc"}
    if settings.getbool("SIDECAR_ENABLED"):
        kinds.add("sidecars")
    if settings.getbool("INDEX_ENABLED"):
        kinds.add("index")
        if settings.getbool("INDEX_CATALOG"):
            kinds.add("catalog")
    return kinds


class UploadExtension:
    """Background uploader of a crawl's closed files (see the module docstring)."""

    def __init__(self, crawler: Crawler, store_uri: str, collection: Path,
                 options: UploadOptions) -> None:
        self.crawler = crawler
        self.store_uri = store_uri
        self.collection = collection
        self.options = options
        settings = crawler.settings
        self._endpoint_url = settings.get("STORE_ENDPOINT_URL") or None
        self._region = settings.get("STORE_REGION") or None
        self._queue: queue.Queue[Any] = queue.Queue()
        self._closed: dict[str, set[str]] = {}  # WARC base name -> kinds closed so far
        self._set_kinds = set_kinds(settings)
        self._thread: threading.Thread | None = None
        self._uploader: Uploader | None = None
        self._fatal: UserError | None = None
        self._spider: Spider | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> UploadExtension:
        """Build from ``STORE_*`` settings; NotConfigured without a remote STORE_URI."""
        settings = crawler.settings
        uri = settings.get("STORE_URI") or ""
        if not uri or not is_remote(uri):
            # Off by default (STORE_URI is ""): closed files stay in WARC_DIR. No
            # message, or Scrapy warns "Disabled ..." on every ordinary crawl.
            raise NotConfigured
        collection = Path(settings.get("WARC_DIR"))
        ext = cls(crawler, collection_uri(uri, collection), collection,
                  UploadOptions.from_settings(settings))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        crawler.signals.connect(ext.file_closed, signal=file_closed)
        return ext

    # --- signal handlers (reactor thread: never block) --------------------------
    def spider_opened(self, spider: Spider) -> None:
        """Start the upload thread; it checks the bucket and resumes leftovers."""
        self._spider = spider
        self._thread = threading.Thread(target=self._work, name="newsarchive-upload",
                                        daemon=True)
        self._thread.start()

    def file_closed(self, path: Path, kind: str, sha256: str | None = None,
                    crc32: int | None = None, size: int | None = None, **_kwargs: Any) -> None:
        """Queue a closed file (and its writer's digest, if sent) for upload; returns at once."""
        digest = None
        if sha256 is not None and crc32 is not None and size is not None:
            digest = FileDigest(size=size, sha256=sha256, crc32=crc32)
        self._queue.put((Path(path), kind, digest))

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        """Wait, off the reactor, until the files queued so far are stored; report.

        Yields one reactor turn first: Scrapy calls extensions' handlers before
        the capture middleware's, which closes the last WARC (and sends its
        ``file_closed``) in its own ``spider_closed``.
        """
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet import reactor
        from twisted.internet.task import deferLater
        from twisted.internet.threads import deferToThread

        if self._thread is None:
            return
        await maybe_deferred_to_future(deferLater(reactor, 0, lambda: None))
        await maybe_deferred_to_future(deferToThread(self._wait_for_indexer))
        await maybe_deferred_to_future(deferToThread(self._queue.join))
        self._report()

    async def engine_stopped(self) -> None:
        """Last pass: pick up files closed late, upload them, then stop the thread."""
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet.threads import deferToThread

        if self._thread is None:
            return
        await maybe_deferred_to_future(deferToThread(self._wait_for_indexer))
        self._queue.put(_STOP)
        await maybe_deferred_to_future(deferToThread(self._thread.join))
        self._report()

    def _wait_for_indexer(self) -> None:
        """The indexer comes before the uploader (its index and catalog files are
        part of a WARC's set): let it finish what it has queued."""
        indexer = wiring_of(self.crawler).indexer
        if indexer is not None:
            indexer.join()

    # --- upload thread ---------------------------------------------------------
    def _work(self) -> None:
        try:
            store = store_for(self.store_uri, endpoint_url=self._endpoint_url,
                              region=self._region, **self.options.store_options())
            self._uploader = Uploader(self.collection, store, self.options, hold=self._held)
        except UserError as exc:
            self._fail(exc)
        except Exception:  # noqa: BLE001 - the loop below must run, or the close would hang
            logger.exception("cannot start the uploader; files stay in %s", self.collection)
        if self._uploader is not None:
            self._guard(self._resume)
        while True:
            item = self._queue.get()
            if item is _STOP:
                self._queue.task_done()
                break
            self._guard(self._take, *item)
            self._queue.task_done()
        if self._uploader is not None:
            self._guard(self._final)
            self._uploader.finish()
            self._uploader.close()

    def _guard(self, func: Any, *args: Any) -> None:
        """Run one step; a StorageError stops uploads (not queueing) for this crawl."""
        try:
            func(*args)
        except UserError as exc:
            self._fail(exc)
        except Exception:  # noqa: BLE001 - a bug must not kill the thread and hang the close
            logger.exception("unexpected error in the upload thread; files stay in the spool")

    def _resume(self) -> None:
        assert self._uploader is not None
        self._uploader.store.check()
        self._uploader.scan()
        leftovers = self._uploader.spool.entries("pending")
        if leftovers:
            logger.info("%d closed file(s) in %s to upload first", len(leftovers),
                        self.collection)
        self._uploader.report.files_total += len(leftovers)
        self._uploader.report.bytes_total += sum(e.digest.size for e in leftovers)
        self._drain(False)

    def _final(self) -> None:
        assert self._uploader is not None
        for path, kind in self._uploader.scan_new():
            self._take(path, kind, None, drain=False)
        self._drain(True)

    def _take(self, path: Path, kind: str, digest: FileDigest | None = None,
              drain: bool = True) -> None:
        self._closed.setdefault(_base_name(path.name), set()).add(kind)
        if self._uploader is None:
            return
        if self._uploader.spool.get(path) is None:
            # Recorded even when uploads stopped.
            entry = self._uploader.enqueue(path, kind, digest)
            self._uploader.report.files_total += 1
            self._uploader.report.bytes_total += entry.digest.size
        if drain and self._queue.empty():  # a burst of closed files is hashed first
            self._drain(False)

    def _drain(self, final: bool) -> None:
        uploader = self._uploader
        if uploader is None or self._fatal is not None:
            return
        for entry in uploader.spool.entries("pending"):
            if not uploader.upload(entry):
                break
        uploader.remove_stored(force=final)

    def _held(self, entry: Entry) -> bool:
        """Keep a stored file locally until its whole set has closed (others read it)."""
        return not self._set_kinds <= self._closed.get(_base_name(entry.path.name), set())

    def _fail(self, exc: UserError) -> None:
        if self._fatal is not None:
            return
        self._fatal = exc
        logger.error("store: %s", exc)
        if self._spider is not None and getattr(self.crawler, "engine", None) is not None:
            from twisted.internet import reactor

            reactor.callFromThread(self._close_spider, "store_error")  # type: ignore[attr-defined]

    def _close_spider(self, reason: str) -> None:
        """Close the spider (reactor thread: the coroutine must start on the event loop)."""
        from scrapy.utils.defer import deferred_from_coro

        engine = self.crawler.engine
        if engine is not None:
            deferred_from_coro(engine.close_spider_async(reason=reason))

    def _report(self) -> None:
        stats = self.crawler.stats
        if stats is None:
            return
        if self._fatal is not None:
            stats.set_value("store/error", str(self._fatal))
        report = self._uploader.report if self._uploader is not None else None
        if report is None:
            return
        for name, value in report.as_dict().items():
            if name not in {"errors", "seconds", "mb_per_s", "files", "bytes"}:
                stats.set_value(f"store/{name}", value)
        logger.info(
            "store: %d uploaded, %d already stored, %d failed, %d left in the spool "
            "(%.1f MB at %.1f MB/s) -> %s",
            report.uploaded, report.existed, report.failed, report.pending,
            report.bytes_sent / 1e6, report.mb_per_s, self.store_uri,
        )
