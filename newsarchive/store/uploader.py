"""The durable uploader: closed collection files -> store, verified, then (maybe) deleted.

Order of work for each file, each step committed to the spool journal before
the next, so a kill -9 anywhere is recovered by simply running again:

1. record the closed file's size, SHA-256 and CRC32 (``pending``): as handed
   over by its writer, who computed them while writing it, else by reading
   it once (old folders, files recovered after a crash; that read also takes
   each part's CRC32, which the part's upload sends);
2. put it in the store (idempotent: an identical object already there counts
   as done; a different one stops with an error; leftovers of a killed
   multipart upload are aborted first);
3. verify the stored object (size + the checksum S3 computed, against the
   recorded digest) -> ``stored``;
4. unless local copies are kept, delete the local file -> ``removed``.

Throttling, 5xx and dropped connections are retried per request by botocore
(standard mode, exponential backoff) and then per file here, with backoff.
When a file still fails, the batch stops (the network is probably down) and
everything not yet stored stays in the spool for the next run.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsarchive.exceptions import ConfigError, TransientStorageError
from newsarchive.store import is_remote
from newsarchive.store.base import Store
from newsarchive.store.digest import FileDigest
from newsarchive.store.keys import closed_files
from newsarchive.store.spool import Entry, Spool

logger = logging.getLogger(__name__)

MiB = 1024 * 1024


@dataclass(frozen=True)
class UploadOptions:
    """How to upload; parsed once from ``STORE_*`` settings or CLI options."""

    part_size: int = 16 * MiB  # multipart part size (S3 minimum: 5 MiB)
    concurrency: int = 8  # parts in flight per file
    keep_local: bool = False  # keep local copies after a verified upload
    max_attempts: int = 10  # per request, botocore's retries included
    retries: int = 4  # per file, after botocore gave up
    backoff: float = 2.0  # seconds before the first per-file retry; doubles each time
    timeout: float = 60.0  # connect/read timeout of each request
    stale_upload_age: float = 86400.0  # unfinished multipart uploads older than this are leftovers

    def __post_init__(self) -> None:
        if self.part_size < 5 * MiB:
            raise ConfigError(
                f"STORE_PART_SIZE {self.part_size} is below S3's minimum part size: "
                "set it to 5 MiB (5242880) or more"
            )
        if self.concurrency < 1 or self.max_attempts < 1 or self.retries < 0:
            raise ConfigError(
                "STORE_CONCURRENCY and STORE_MAX_ATTEMPTS must be at least 1 and "
                "STORE_RETRIES at least 0"
            )

    @classmethod
    def from_settings(cls, settings: Any) -> UploadOptions:
        """From Scrapy settings (or anything with ``getint``/``getbool``/``getfloat``)."""
        return cls(
            part_size=settings.getint("STORE_PART_SIZE"),
            concurrency=settings.getint("STORE_CONCURRENCY"),
            keep_local=settings.getbool("STORE_KEEP_LOCAL"),
            max_attempts=settings.getint("STORE_MAX_ATTEMPTS"),
            retries=settings.getint("STORE_RETRIES"),
            backoff=settings.getfloat("STORE_RETRY_BACKOFF"),
            timeout=settings.getfloat("STORE_TIMEOUT"),
            stale_upload_age=settings.getfloat("STORE_STALE_UPLOAD_AGE"),
        )

    def store_options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`newsarchive.store.store_for`."""
        return {
            "part_size": self.part_size,
            "concurrency": self.concurrency,
            "max_attempts": self.max_attempts,
            "timeout": self.timeout,
        }


@dataclass
class UploadReport:
    """What an upload run did; also its live progress."""

    files_total: int = 0
    bytes_total: int = 0
    uploaded: int = 0
    existed: int = 0  # already in the store, identical
    removed: int = 0  # local copies deleted after verification
    failed: int = 0
    bytes_sent: int = 0
    pending: int = 0  # left in the spool at the end
    errors: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def seconds(self) -> float:
        """Elapsed time of the run so far."""
        return (self.finished or time.monotonic()) - self.started

    @property
    def mb_per_s(self) -> float:
        """Upload rate in MB/s (10^6 bytes)."""
        return self.bytes_sent / 1e6 / max(self.seconds, 1e-9)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "files": self.files_total,
            "bytes": self.bytes_total,
            "uploaded": self.uploaded,
            "already_stored": self.existed,
            "local_removed": self.removed,
            "failed": self.failed,
            "pending": self.pending,
            "bytes_sent": self.bytes_sent,
            "seconds": round(self.seconds, 3),
            "mb_per_s": round(self.mb_per_s, 2),
            "errors": self.errors,
        }


class Uploader:
    """Uploads the closed files of one collection folder to one store.

    ``hold(entry)`` may keep a verified file's local copy for now (the crawl
    holds a WARC until its index is written); :meth:`remove_stored` with
    ``force=True`` ignores it at the end.
    """

    def __init__(
        self,
        collection: Path,
        store: Store,
        options: UploadOptions | None = None,
        *,
        hold: Callable[[Entry], bool] | None = None,
        on_progress: Callable[[UploadReport], None] | None = None,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self.collection = Path(collection)
        self.store = store
        self.options = options or UploadOptions()
        self.spool = Spool(self.collection, store.uri)
        self.report = UploadReport()
        self._hold = hold
        self._on_progress = on_progress
        self._sleep = sleep
        self._progress_lock = threading.Lock()

    def close(self) -> None:
        """Release the collection's lock."""
        self.spool.close()

    def __enter__(self) -> Uploader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- queueing ---------------------------------------------------------------
    def enqueue(self, path: Path, kind: str, digest: FileDigest | None = None) -> Entry:
        """Record one closed file and its digest (its writer's, or read now) in the spool.

        A file read now for its digest gets the CRC32 of each part of its
        upload in the same read (S3 only): its parts then go up with them.
        """
        part_size = self.options.part_size if is_remote(self.store.uri) else None
        return self.spool.enqueue(Path(path), kind, digest, part_size)

    def scan_new(self) -> list[tuple[Path, str]]:
        """Closed files of the collection that the journal does not know yet."""
        return [(p, k) for p, k in closed_files(self.collection) if self.spool.get(p) is None]

    def scan(self) -> int:
        """Enqueue every closed file of the collection the journal does not know yet."""
        new = self.scan_new()
        for path, kind in new:
            self.enqueue(path, kind)
        return len(new)

    # --- uploading --------------------------------------------------------------
    def run(self, stop: threading.Event | None = None, scan: bool = False) -> UploadReport:
        """Upload every pending file, then delete local copies; return the report.

        Checks the store first, so a bad bucket, endpoint or credentials fails
        at once with a one-line StorageError (the spool is untouched). With
        ``scan``, closed files new to the journal are hashed and recorded by a
        helper thread while earlier ones upload (each file's SHA-256 is still
        recorded before its own upload starts): hashing costs no extra time.
        """
        self.store.check()
        self.store.sweep_stale_uploads(self.options.stale_upload_age)
        pending = self.spool.entries("pending")
        new = self.scan_new() if scan else []
        self.report.files_total += len(pending) + len(new)
        self.report.bytes_total += sum(e.digest.size for e in pending)
        self.report.bytes_total += sum(p.stat().st_size for p, _ in new)
        hashed: queue.Queue[Entry | BaseException | None] = queue.Queue()
        halt = threading.Event()

        def hash_new() -> None:
            try:
                for path, kind in new:
                    if halt.is_set():
                        break
                    hashed.put(self.enqueue(path, kind))
            except BaseException as exc:  # noqa: BLE001 - handed to the uploading thread
                hashed.put(exc)
            finally:
                hashed.put(None)

        hasher = threading.Thread(target=hash_new, name="newsarchive-hash", daemon=True)
        hasher.start()
        try:
            hashed_entries: Iterator[Entry | BaseException] = iter(hashed.get, None)  # type: ignore[arg-type]
            for item in itertools.chain(pending, hashed_entries):
                if isinstance(item, BaseException):
                    raise item
                entry = item
                if (stop is not None and stop.is_set()) or not self.upload(entry):
                    break
        finally:
            halt.set()
            hasher.join()
        self.remove_stored()
        self.finish()
        return self.report

    def finish(self) -> None:
        """Close the report: count what is left in the spool."""
        counts = self.spool.counts()
        self.report.pending = counts.get("pending", (0, 0))[0]
        self.report.finished = time.monotonic()

    def upload(self, entry: Entry) -> bool:
        """Put one file, retrying transient failures; True once it is verified stored.

        A transient failure that outlasts the retries returns False (the entry
        stays pending). Anything else -- bucket, permissions, credentials, a
        different object under the key -- raises StorageError.
        """
        delay = self.options.backoff
        for attempt in range(self.options.retries + 1):
            sent = 0

            def progress(n: int) -> None:
                nonlocal sent
                sent += n
                with self._progress_lock:
                    self.report.bytes_sent += n
                if self._on_progress is not None:
                    self._on_progress(self.report)

            try:
                outcome = self._put(entry, progress)
            except TransientStorageError as exc:
                with self._progress_lock:
                    self.report.bytes_sent -= sent  # resent bytes are counted again
                self.spool.note_failure(entry, str(exc))
                if attempt == self.options.retries:
                    self.report.failed += 1
                    self.report.errors.append(str(exc))
                    logger.error("giving up on %s for now: %s", entry.path.name, exc)
                    return False
                logger.warning("upload of %s failed (%s); retrying in %.1f s",
                               entry.path.name, exc, delay)
                self._sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            self.spool.mark_stored(entry)
            if outcome == "exists":
                self.report.existed += 1
            else:
                self.report.uploaded += 1
            logger.info("%s %s", "stored" if outcome == "uploaded" else "already stored:",
                        self.store.uri_for(entry.key))
            if self._on_progress is not None:
                self._on_progress(self.report)
            return True
        return False

    def _put(self, entry: Entry, progress: Callable[[int], None]) -> str:
        if not entry.path.exists():
            # Gone locally before it was stored: fine only if the store has it.
            from newsarchive.exceptions import StorageError

            info = self.store.head(entry.key)
            if info is not None and info.size == entry.digest.size and (
                info.sha256 == entry.digest.sha256
            ) and (info.checksum is None or entry.digest.matches_checksum(info.checksum)
                   is not False):
                return "exists"
            raise StorageError(
                f"{entry.path} disappeared before it reached {self.store.uri_for(entry.key)}; "
                "restore it from a backup, or remove it from the spool by deleting "
                f"{self.spool.collection / 'state'}/uploads.sqlite"
            )
        return self.store.put(entry.path, entry.key, entry.digest, progress=progress)

    def remove_stored(self, force: bool = False) -> int:
        """Delete local copies of verified files (unless kept or held); return how many."""
        if self.options.keep_local:
            return 0
        removed = 0
        for entry in self.spool.entries("stored"):
            if not force and self._hold is not None and self._hold(entry):
                continue
            if self._is_the_stored_copy(entry):
                continue
            if self.spool.remove_local(entry):
                removed += 1
        self.report.removed += removed
        return removed

    def _is_the_stored_copy(self, entry: Entry) -> bool:
        """A local store inside the collection may hold the very same file: keep it."""
        target = Path(self.store.uri_for(entry.key))
        return not is_remote(self.store.uri) and target.exists() and target.samefile(entry.path)


def collection_uri(store_uri: str, collection: Path) -> str:
    """The store URI of a collection: a bare ``s3://bucket`` gets the folder's name.

    ``s3://bucket/PREFIX/COLLECTION`` is used as given (its last part names the
    collection); ``s3://bucket`` alone becomes ``s3://bucket/<folder name>``.
    """
    if is_remote(store_uri) and store_uri.split("://", 1)[1].strip("/").count("/") == 0:
        return f"{store_uri.rstrip('/')}/{Path(collection).resolve().name}"
    return store_uri.rstrip("/") if is_remote(store_uri) else store_uri
