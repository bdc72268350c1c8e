"""Scrapy extension: index each WARC file as it closes, and catalog its sidecars.

Listens for :data:`newsarchive.signals.file_closed`, which the WARC writer
thread sends. The work happens right there, in the writer thread -- never on
the reactor -- and *before* the upload extension (a lower priority in
``EXTENSIONS`` connects first), so the WARC and its sidecars are still on disk
when they are read, and the uploader learns of the index right after.

- kind ``"warc"``: write ``DIR/indexes/NAME.cdxj`` (temp name, then rename) and
  send ``file_closed`` with kind ``"index"`` so the uploader ships it.
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from newsarchive import signals as na_signals
from newsarchive.collection import SIDECAR_SUFFIX, WARC_GZ, WARC_SUFFIXES, Layout, open_name
from newsarchive.index.catalog import build_part
from newsarchive.index.cdxj import index_warc
from newsarchive.index.stories import StoryIndex, index_path

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

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IndexExtension:
        """Enabled by ``INDEX_ENABLED`` when WARC capture is on."""
        s = crawler.settings
        if not s.getbool("INDEX_ENABLED"):
            raise NotConfigured  # INDEX_ENABLED is off (switched off on purpose: no console warning)
        if not s.getbool("WARC_ENABLED"):
            raise NotConfigured  # indexes need WARC capture (WARC_ENABLED) (switched off on purpose: no console warning)
        directory = Path(s.get("WARC_DIR"))
        ext = cls(crawler, directory, s.getbool("INDEX_CATALOG"),
                  _store_name(s.get("STORE_URI") or "", directory))
        crawler.signals.connect(ext.file_closed, signal=na_signals.file_closed)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        return ext

    def spider_opened(self, spider: Any) -> None:
        """Catch up first: index the closed WARCs an earlier run left without an index."""
        done = self.catch_up()
        if done:
            logger.info("indexed %d WARC files an earlier run left without an index", done)
            self.crawler.stats.set_value("index/caught_up", done)

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
            self.file_closed(warc, "warc")
            done += 1
        return done

    @property
    def name(self) -> str:
        """The collection's name (its catalog partition): the store's, else the folder's."""
        return self._name or self.directory.resolve().name

    def file_closed(self, path: Path, kind: str, **_: Any) -> None:
        """Index a closed WARC; catalog a closed sidecar file (writer thread)."""
        path = Path(path)
        try:
            if kind == "warc":
                self._index(path)
            elif kind == "sidecars" and self.catalog:
                warc = path.name.removesuffix(SIDECAR_SUFFIX) + WARC_GZ
                self._catalog(warc, path)
        except Exception:
            self.crawler.stats.inc_value("index/errors")
            logger.exception("cannot index %s", path)

    def _index(self, warc: Path) -> None:
        dest = self.layout.index_for(warc.name)
        lines = index_warc(warc, dest)
        self.crawler.stats.inc_value("index/files")
        self.crawler.stats.inc_value("index/captures", lines)
        self.crawler.signals.send_catch_log(na_signals.file_closed, path=dest, kind="index")
        sidecars = self.layout.sidecars_for(warc.name)
        if self.catalog and not open_name(sidecars).exists():
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
