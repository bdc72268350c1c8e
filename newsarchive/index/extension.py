"""Scrapy extension: index each WARC file as it closes, and catalog its sidecars.

Listens for :data:`newsarchive.signals.file_closed`, which the WARC writer
thread sends, and queues the file for its own worker thread (``newsarchive-index``),
as the upload extension does: the writer never waits for indexing, and the
reactor never runs it. The post-capture steps run in this order, whatever the
order of the extensions:

    WARC writer --file_closed--> indexer (this worker) --file_closed--> uploader

The uploader keeps a local file until every file of its set (the WARC, its
sidecars, its index, its catalog parts) has closed, so the indexer always
finds the WARC and its sidecars on disk; before its last pass it waits for
this worker to finish (:meth:`IndexExtension.join`, through the crawl's
wiring, :mod:`newsarchive.wiring`). The crawl ends once the worker is idle
(``engine_stopped``).

- kind ``"warc"``: write ``DIR/indexes/NAME.cdxj`` (temp name, then rename) and
  send ``file_closed`` with kind ``"index"`` so the uploader ships it. The
  writer sends the lines it made while writing the file (``cdxj``, see
  :mod:`newsarchive.capture.indexlines`), which are only sorted here; a file
  without them (recovered, or with a record they do not cover) is read again.
- kind ``"sidecars"``: (re)build the WARC's catalog parts under ``DIR/catalog``.
  The writer closes a WARC just before its sidecar file; a WARC with no
  sidecar file still open beside it gets its catalog part at once. Each
  finished part is announced with ``file_closed`` kind ``"catalog"``, so the
  uploader ships it too (and knows the WARC's set is complete).

At the start of a crawl (``spider_opened``) it first indexes the closed WARCs
of the folder that have no up-to-date index: files closed by crash recovery,
or left unindexed by a run killed or stopped by a full disk.

Settings: ``INDEX_ENABLED``, ``INDEX_CATALOG``.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals

from newsarchive import signals as na_signals
from newsarchive.capture.indexlines import IndexLines
from newsarchive.collection import SIDECAR_SUFFIX, WARC_GZ, WARC_SUFFIXES, Layout, open_name
from newsarchive.index.catalog import build_part
from newsarchive.index.cdxj import index_from_lines, index_warc
from newsarchive.index.stories import StoryIndex, index_path
from newsarchive.switches import require
from newsarchive.wiring import wiring_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class IndexExtension:
    """CDXJ index per closed WARC; catalog part per closed sidecar file."""

    def __init__(self, crawler: Crawler, directory: Path, catalog: bool, name: str | None = None
                 ) -> None:
        self.crawler = crawler
        self.directory = directory
        self.layout = Layout(directory)
        self.catalog = catalog
        self._name = name
        self._stories: StoryIndex | None = None
        self._queue: queue.Queue[tuple[Path, str, IndexLines | None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IndexExtension:
        """Enabled by ``INDEX_ENABLED`` when WARC capture is on."""
        s = crawler.settings
        require(s, "INDEX_ENABLED", "WARC_ENABLED")  # indexes need WARC capture
        directory = Path(s.get("WARC_DIR"))
        ext = cls(crawler, directory, s.getbool("INDEX_CATALOG"),
                  _store_name(s.get("STORE_URI") or "", directory))
        crawler.signals.connect(ext.file_closed, signal=na_signals.file_closed)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        wiring_of(crawler).indexer = ext  # the uploader waits for it (join)
        return ext

    def spider_opened(self, spider: Any) -> None:
        """Catch up first: index the closed WARCs an earlier run left without an index;
        then start the worker."""
        done = self.catch_up()
        if done:
            logger.info("indexed %d WARC files an earlier run left without an index", done)
            self.crawler.stats.set_value("index/caught_up", done)
        self.start()

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="newsarchive-index",
                                            daemon=True)
            self._thread.start()

    def join(self) -> None:
        """Wait until every file queued so far is indexed (any thread but the worker's)."""
        if self._thread is not None:
            self._queue.join()

    async def engine_stopped(self) -> None:
        """The crawl is over: index what is queued, then stop the worker (off the reactor)."""
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet.threads import deferToThread

        if self._thread is None:
            return
        self._queue.put(None)
        await maybe_deferred_to_future(deferToThread(self._thread.join))
        self._thread = None

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                path, kind, lines = item
                self.process(path, kind, live=True, lines=lines)
            finally:
                self._queue.task_done()

    def catch_up(self) -> int:
        """Index every closed WARC of the folder lacking an up-to-date index; return how many.

        A run killed between closing a file and indexing it, or stopped by a
        full disk while writing the index, leaves such a file; so does a file
        closed by crash recovery (:mod:`newsarchive.capture.recovery`).
        """
        warc_dir = self.layout.warc_dir
        if not warc_dir.is_dir():
            return 0
        done = 0
        for warc in sorted(warc_dir.iterdir()):
            if not warc.name.endswith(WARC_SUFFIXES) or not warc.is_file():
                continue
            index = self.layout.index_for(warc.name)
            if index.exists() and index.stat().st_mtime >= warc.stat().st_mtime:
                continue
            self.process(warc, "warc")
            done += 1
        return done

    @property
    def name(self) -> str:
        """The collection's name (its catalog partition): the store's, else the folder's."""
        return self._name or self.directory.resolve().name

    def file_closed(self, path: Path, kind: str, cdxj: IndexLines | None = None,
                    **_: Any) -> None:
        """Queue a closed WARC (with the index lines its writer made, if any) or
        sidecar file for the worker (writer thread: returns at once)."""
        if kind in ("warc", "sidecars"):
            self.start()
            self._queue.put((Path(path), kind, cdxj))
        elif cdxj is not None:
            cdxj.close()

    def process(self, path: Path, kind: str, live: bool = False,
                lines: IndexLines | None = None) -> None:
        """Index a closed WARC; catalog a closed sidecar file.

        ``live``: announced by the writer, which closes a WARC just before its
        sidecar file and announces both; the catalog part is then built on the
        sidecar file's turn. Otherwise (catch-up) it is built with the WARC.
        ``lines``: the WARC's index lines from its writer; without them the
        WARC is read.
        """
        path = Path(path)
        try:
            if kind == "warc":
                self._index(path, live, lines)
            elif kind == "sidecars" and self.catalog:
                warc = path.name.removesuffix(SIDECAR_SUFFIX) + WARC_GZ
                self._catalog(warc, path)
        except Exception:
            self.crawler.stats.inc_value("index/errors")
            logger.exception("cannot index %s", path)

    def _index(self, warc: Path, live: bool = False, made: IndexLines | None = None) -> None:
        dest = self.layout.index_for(warc.name)
        lines = index_from_lines(made, dest) if made is not None else index_warc(warc, dest)
        self.crawler.stats.inc_value("index/files")
        self.crawler.stats.inc_value("index/captures", lines)
        self.crawler.signals.send_catch_log(na_signals.file_closed, path=dest, kind="index")
        sidecars = self.layout.sidecars_for(warc.name)
        announced = open_name(sidecars).exists() or (live and sidecars.exists())
        if self.catalog and not announced:  # no sidecar file will be announced for it
            self._catalog(warc.name, sidecars if sidecars.exists() else None)

    def _catalog(self, warc_name: str, sidecars: Path | None) -> None:
        index = self.layout.index_for(warc_name)
        if not index.exists():
            logger.warning("no index for %s; catalog part not built", warc_name)
            return
        if self._stories is None:
            self._stories = StoryIndex(index_path(self.directory))
        parts = build_part(
            str(index),
            str(sidecars) if sidecars else None,
            self.layout.catalog_dir,
            self.name,
            warc_name,
            self._stories,
        )
        self.crawler.stats.inc_value("index/catalog_parts", len(parts))
        for part in parts:
            self.crawler.signals.send_catch_log(na_signals.file_closed, path=part, kind="catalog")


def _store_name(store_uri: str, directory: Path) -> str | None:
    """The name an ``s3://`` store gives the collection (None without one).

    With ``--store`` the folder is only a spool and the store is the
    collection: replay, export and query of the store name it after the
    store's last part, so its catalog partition must say the same.
    """
    from newsarchive.store import is_remote

    if not store_uri or not is_remote(store_uri):
        return None
    from newsarchive.store.uploader import collection_uri

    return collection_uri(store_uri, directory).rsplit("/", 1)[-1]
