"""The writer thread: exchanges in, WARC records out.

The crawl (Scrapy's reactor thread, or the browser capture) only queues
:class:`~newsarchive.capture.exchange.Exchange` objects. One thread digests,
deduplicates, serialises, gzips and appends them. zlib and hashlib release the
GIL, so on a two-core machine this overlaps with the crawl instead of slowing
it (issue #2: gzip is most of archiving's cost). The queue is bounded: if the
disk cannot keep up, the crawl waits rather than holding responses in memory.

Every record written is reported in ``DIR/logs/crawl.log`` (one line per URL,
Heritrix-style) *after* its bytes were flushed, so a line in that log is a
promise the record survives a kill.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsarchive.capture import records
from newsarchive.capture.dedup import DigestIndex
from newsarchive.capture.exchange import Exchange
from newsarchive.capture.recovery import recover_directory
from newsarchive.capture.writer import Location, WarcFileSet
from newsarchive.exceptions import NewsarchiveError, StorageError

logger = logging.getLogger(__name__)

SIDECAR_CONTENT_TYPE = 'application/json; profile="newsarchive.sidecar/1"'


@dataclass
class Ticket:
    """What became of one queued exchange; filled in by the writer thread."""

    record_id: str
    url: str
    fetched_at: datetime
    payload_digest: str | None = None
    location: Location | None = None
    revisit: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    def capture(self) -> dict[str, Any] | None:
        """The sidecar schema's ``capture`` object, once written."""
        if self.location is None:
            return None
        return {
            "warc_filename": self.location.filename,
            "offset": self.location.offset,
            "length": self.location.length,
            "record_id": self.record_id,
            "payload_digest": self.payload_digest,
            "fetched_at": records.warc_date(self.fetched_at),
        }


@dataclass
class CaptureStats:
    """Counters the progress line and the summary show."""

    responses: int = 0
    revisits: int = 0
    records: int = 0
    bytes_in: int = 0
    sidecars: int = 0
    files_closed: int = 0


class WarcWriterService:
    """Owns a collection's WARC files and the thread that writes them."""

    def __init__(
        self,
        directory: Path,
        *,
        prefix: str = "newsarchive",
        max_size: int = 1_000_000_000,
        gzip_level: int = 6,
        info: Mapping[str, str] | None = None,
        dedup: bool = True,
        queue_size: int = 256,
        fsync: str = "close",
        on_close: Callable[..., None] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.recovered = recover_directory(self.directory)
        self.files = WarcFileSet(
            self.directory,
            prefix=prefix,
            max_size=max_size,
            gzip_level=gzip_level,
            info=info,
            fsync=fsync,
            on_close=self._closed,
        )
        self._on_close = on_close
        self.dedup = DigestIndex(self.directory / "state" / "dedup.sqlite") if dedup else None
        self.stats = CaptureStats()
        self.error: NewsarchiveError | None = None
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue(maxsize=queue_size)
        self._recent: OrderedDict[str, Ticket] = OrderedDict()
        log_dir = self.directory / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self._crawl_log = open(log_dir / "crawl.log", "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        self._log_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="warc-writer", daemon=True)
        self._thread.start()

    # -- called from the crawl ------------------------------------------------
    def submit(self, exchange: Exchange) -> Ticket:
        """Queue an exchange; returns its ticket (filled in once written)."""
        self._raise_if_failed()
        record_id = exchange.record_id or records.new_record_id()
        exchange.record_id = record_id
        ticket = Ticket(record_id=record_id, url=exchange.url, fetched_at=exchange.fetched_at)
        self._put(("exchange", (exchange, ticket)))
        return ticket

    def submit_sidecar(self, record_id: str, sidecar: dict[str, Any]) -> None:
        """Queue a sidecar of the response ``record_id`` (queued earlier)."""
        self._raise_if_failed()
        self._put(("sidecar", (record_id, sidecar)))

    def submit_record(
        self, uri: str, refers_to: str, payload: bytes, content_type: str, record_type: str
    ) -> None:
        """Queue a ``resource``/``metadata`` record beside a queued response."""
        self._raise_if_failed()
        self._put(("record", (uri, refers_to, payload, content_type, record_type)))

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything queued so far is written."""
        marker = threading.Event()
        self._put(("marker", marker))
        marker.wait(timeout)
        self._raise_if_failed()

    def log_failure(self, code: int, url: str, kind: str, reason: str) -> None:
        """A crawl.log line for a fetch that archived nothing (Heritrix's negative codes)."""
        date = records.warc_date(datetime.now(UTC))
        reason = " ".join(reason.split())[:300] or "-"
        with self._log_lock:
            if not self._crawl_log.closed:
                self._crawl_log.write(f"{date} {code} - {url} - - {kind} - {reason}\n")

    def close(self) -> None:
        """Write what is queued, close the files, stop the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        with self._log_lock:
            self._crawl_log.close()
        if self.dedup is not None:
            self.dedup.close()
        self._raise_if_failed()

    # -- internals ----------------------------------------------------------------
    def _put(self, item: tuple[str, Any]) -> None:
        while True:
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error

    def _closed(self, path: Path, kind: str, **digest: Any) -> None:
        self.stats.files_closed += 1
        if self._on_close is not None:
            self._on_close(path, kind, **digest)

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    break
                kind, payload = item
                if kind == "exchange":
                    self._write_exchange(*payload)
                elif kind == "sidecar":
                    self._write_sidecar(*payload)
                elif kind == "record":
                    self._write_record(*payload)
                elif kind == "marker":
                    payload.set()
        except NewsarchiveError as exc:
            self.error = exc
            logger.error("%s", exc)
        except OSError as exc:
            self.error = StorageError(f"cannot write the WARC files in {self.directory}: {exc}")
            logger.exception("writer failed")
        finally:
            try:
                self.files.close()
            except OSError as exc:
                logger.error("cannot close WARC files: %s", exc)
            # Unblock anyone still waiting on a marker.
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None and item[0] == "marker":
                    item[1].set()

    def _write_exchange(self, ex: Exchange, ticket: Ticket) -> None:
        digest = records.sha1_digest(ex.body)
        ticket.payload_digest = digest
        original = self.dedup.lookup(digest) if self.dedup is not None and ex.body else None
        assert ex.record_id is not None
        if original is not None:
            response = records.revisit_record(
                ex, ex.record_id, digest, original.uri, original.date, original.record_id
            )
            ticket.revisit = True
        else:
            response = records.response_record(ex, ex.record_id, digest)
        request = records.request_record(ex, ex.record_id)
        locations = self.files.write([response, request])
        ticket.location = locations[0]
        date = records.warc_date(ex.fetched_at)
        if original is None and self.dedup is not None and ex.body:
            self.dedup.add(digest, ex.url, date, ex.record_id)
        self.stats.records += 2
        self.stats.bytes_in += len(ex.body)
        if ticket.revisit:
            self.stats.revisits += 1
        else:
            self.stats.responses += 1
        with self._log_lock:
            self._crawl_log.write(
                f"{date} {ex.status} {len(ex.body)} {ex.url} {ticket.location.filename} "
                f"{ticket.location.offset} {'revisit' if ticket.revisit else 'response'} "
                f"{ex.record_id}\n"
            )
        self._recent[ex.record_id] = ticket
        if len(self._recent) > 10_000:
            self._recent.popitem(last=False)
        ticket.done.set()

    def _write_sidecar(self, record_id: str, sidecar: dict[str, Any]) -> None:
        ticket = self._recent.get(record_id)
        if ticket is None or ticket.location is None:
            logger.warning("no archived response %s for a sidecar; not written", record_id)
            return
        if sidecar.get("capture") is None:
            sidecar = {**sidecar, "capture": ticket.capture()}
        else:
            sidecar = {**sidecar, "capture": {**ticket.capture(), **sidecar["capture"]}}  # type: ignore[dict-item]
        self.files.write_sidecar(sidecar)
        payload = json.dumps(sidecar, ensure_ascii=False).encode("utf-8")
        when = datetime.now(UTC)
        self.files.write(
            [records.metadata_record(ticket.url, record_id, payload, SIDECAR_CONTENT_TYPE, when)]
        )
        self.stats.sidecars += 1

    def _write_record(
        self, uri: str, refers_to: str, payload: bytes, content_type: str, record_type: str
    ) -> None:
        when = datetime.now(UTC)
        self.files.write(
            [records.metadata_record(uri, refers_to, payload, content_type, when, None, record_type)]
        )


def wait_written(ticket: Ticket, timeout: float = 60.0) -> bool:
    """Block until ``ticket`` is written (tests and the browser capture use it)."""
    deadline = time.monotonic() + timeout
    while not ticket.done.wait(0.1):
        if time.monotonic() > deadline:
            return False
    return True
