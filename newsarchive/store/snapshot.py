"""What a later crawl needs, kept in the store beside the collection: a disposable worker.

With ``--store`` the collection folder is only a spool: WARC, sidecar, index and
catalog files leave it once uploaded. What makes the *next* run incremental
would stay behind on the machine: the crawl state (``state/crawl.sqlite``), the
payload-digest index that turns unchanged pages into revisits
(``state/dedup.sqlite``), the story clusters (``state/stories.sqlite``),
``logs/crawl.log`` and each run's summary and report (``reports/RUN.*``). So
after every run (whatever its outcome) they go to the store too, and a crawl
that starts without a crawl state (a new pod, a new machine, a wiped disk)
restores them first and carries on incrementally.

Keys, relative to the collection's root in the store; none is ever
overwritten (a store refuses to replace an object with different bytes), so
every run adds its own and the history stays:

``state/snapshots/RUN/NAME.sqlite``  a consistent copy of each database, taken
                                     with SQLite's backup API after the run
``logs/crawl/RUN.crawl.log``         the lines this run added to ``crawl.log``
``reports/RUN.json``, ``RUN.html``   the run's summary and report

A restore takes the latest snapshot (run ids sort by time), rebuilds
``crawl.log`` from its parts in run order and fetches the summaries, so
``runs``, ``status`` and ``report`` see the collection's history. A run killed
before its snapshot leaves the previous one in force: the next worker fetches
that run's pages once more (never fewer).
"""

from __future__ import annotations

import logging
import os
import posixpath
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsarchive.exceptions import StorageError, UserError
from newsarchive.layout import Layout

logger = logging.getLogger(__name__)

#: the databases of ``DIR/state`` a later run reads (the upload journal and the
#: crawl lock belong to one spool, never to the next).
DATABASES = (Layout(Path()).crawl_db.name, Layout(Path()).dedup_db.name, "stories.sqlite")
SNAPSHOTS = "state/snapshots"
LOG_PARTS = "logs/crawl"
REPORTS = "reports"
CRAWL_LOG = Layout(Path()).crawl_log  # relative to the collection


@dataclass
class StateSync:
    """Restores a collection's state from its store and saves it after each run."""

    collection: Path
    store: Any  # a newsarchive.store.base.Store rooted at the collection

    @classmethod
    def from_overrides(cls, collection: Path, overrides: dict[str, Any]) -> StateSync | None:
        """The sync of a crawl whose settings name a remote ``STORE_URI``; else None."""
        from scrapy.settings import Settings

        from newsarchive import settings as defaults
        from newsarchive.store import is_remote, store_for
        from newsarchive.store.uploader import UploadOptions, collection_uri

        settings = Settings()
        settings.setmodule(defaults)
        settings.update(overrides)
        uri = settings.get("STORE_URI") or ""
        if not uri or not is_remote(uri):
            return None
        store = store_for(collection_uri(uri, collection),
                          endpoint_url=settings.get("STORE_ENDPOINT_URL") or None,
                          region=settings.get("STORE_REGION") or None,
                          **UploadOptions.from_settings(settings).store_options())
        return cls(Path(collection), store)

    # -- before the run ------------------------------------------------------------
    def needs_restore(self) -> bool:
        """True when the spool has no crawl state (a fresh machine or a wiped folder)."""
        return not Layout(self.collection).crawl_db.exists()

    def restore(self) -> int:
        """Fetch the latest snapshot, crawl.log and run summaries; return files restored.

        Only what is missing locally is written, each file complete or not at
        all; a store without a snapshot (the collection's first run) restores
        nothing.
        """
        restored = 0
        runs = sorted({posixpath.dirname(k).rsplit("/", 1)[-1]
                       for k in self.store.list(SNAPSHOTS + "/")})
        if runs:
            latest = runs[-1]
            for name in DATABASES:
                key = f"{SNAPSHOTS}/{latest}/{name}"
                dest = Layout(self.collection).state_dir / name
                if not dest.exists() and self.store.head(key) is not None:
                    self._fetch(key, dest)
                    restored += 1
            logger.info("state: restored the snapshot of run %s from %s", latest,
                        self.store.uri)
        log = self.collection / CRAWL_LOG
        parts = sorted(self.store.list(LOG_PARTS + "/"))
        if parts and not log.exists():
            self._fetch_all(parts, log)
            restored += 1
        for key in self.store.list(REPORTS + "/"):
            dest = self.collection / key
            if not dest.exists():
                self._fetch(key, dest)
                restored += 1
        return restored

    def log_offset(self) -> int:
        """The size of ``crawl.log`` now: where this run's lines will start."""
        try:
            return (self.collection / CRAWL_LOG).stat().st_size
        except FileNotFoundError:
            return 0

    # -- after the run -------------------------------------------------------------
    def save(self, run_id: str, log_offset: int) -> int:
        """Upload this run's snapshot, crawl.log lines and summary; return files stored."""
        stored = 0
        with tempfile.TemporaryDirectory(prefix="newsarchive-snapshot-") as tmp:
            for name in DATABASES:
                source = Layout(self.collection).state_dir / name
                if not source.exists():
                    continue
                copy = Path(tmp) / name
                _backup(source, copy)
                self.store.put(copy, f"{SNAPSHOTS}/{run_id}/{name}")
                stored += 1
            log = self.collection / CRAWL_LOG
            if log.exists() and log.stat().st_size > log_offset:
                part = Path(tmp) / "crawl.log"
                with log.open("rb") as src, part.open("wb") as dst:
                    src.seek(log_offset)
                    shutil.copyfileobj(src, dst)
                self.store.put(part, f"{LOG_PARTS}/{run_id}.crawl.log")
                stored += 1
        for suffix in (".json", ".html"):
            path = self.collection / REPORTS / f"{run_id}{suffix}"
            if path.exists():
                self.store.put(path, f"{REPORTS}/{path.name}")
                stored += 1
        logger.info("state: %d file(s) of run %s saved to %s", stored, run_id, self.store.uri)
        return stored

    # -- helpers -------------------------------------------------------------------
    def _fetch(self, key: str, dest: Path) -> None:
        self._fetch_all([key], dest)

    def _fetch_all(self, keys: list[str], dest: Path) -> None:
        """Concatenate the objects ``keys`` into ``dest``, which appears whole or not at all."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        try:
            with tmp.open("wb") as out:
                for key in keys:
                    with self.store.open(key) as src:
                        shutil.copyfileobj(src, out, 1 << 20)
            os.replace(tmp, dest)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot restore {dest}: {exc.strerror or exc}") from exc


def _backup(source: Path, dest: Path) -> None:
    """A consistent copy of a SQLite database (its WAL included), via the backup API."""
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(str(dest))
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise StorageError(f"cannot copy {source} for its snapshot: {exc}") from exc


def restore_before_run(sync: StateSync | None) -> int:
    """Restore when the spool holds no crawl state; a storage problem stops the crawl."""
    if sync is None or not sync.needs_restore():
        return 0
    count = sync.restore()
    if count:
        logger.info("restored %d state file(s) of the collection from %s", count,
                       sync.store.uri)
    return count


def save_after_run(sync: StateSync | None, run_id: str, log_offset: int) -> str | None:
    """Save after a run; the error message if that failed (the run's outcome stands)."""
    if sync is None:
        return None
    try:
        sync.save(run_id, log_offset)
    except UserError as exc:
        logger.error("state: the snapshot of run %s was not saved: %s", run_id, exc)
        return str(exc)
    return None
