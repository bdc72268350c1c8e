"""The writer thread: exchanges in, WARC records out.

The crawl (Scrapy's reactor thread, or the browser capture) only queues
:class:`~newsarchive.fetch.exchange.Exchange` objects. One thread digests,
deduplicates, serialises, gzips and appends them. zlib and hashlib release the
GIL, so on a two-core machine this overlaps with the crawl instead of slowing
it (gzip is most of archiving's cost: ``benchmarks/README.md``). The queue is bounded: if the
disk cannot keep up, the crawl waits rather than holding responses in memory.

Every record written is reported in ``DIR/logs/crawl.log`` (one line per URL,
Heritrix-style) *after* its bytes were flushed, so a line in that log is a
promise the record survives a kill. Fetches that failed get a line too
(:meth:`WarcWriterService.log_failure`), with a negative status code.

On start the service closes the ``.open`` files a killed run left
(:mod:`~newsarchive.capture.recovery`) and reconciles the dedup index and the
sidecars with what is on disk (:mod:`~newsarchive.capture.reconcile`). The
dedup index commits each digest right after its record is written, so only a
kill between the two leaves a gap, which the next start closes.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Unpack

from newsarchive.capture import records
from newsarchive.capture.dedup import DigestIndex
from newsarchive.capture.reconcile import (
    MARKER,
    Reconciled,
    mark_settled,
    mark_unsettled,
    scan,
    unsettled_since,
)
from newsarchive.capture.recovery import recover_directory
from newsarchive.capture.writer import FileOptions, Location, WarcFileSet, sidecar_json
from newsarchive.exceptions import NewsarchiveError, StorageError
from newsarchive.fetch.exchange import Exchange
from newsarchive.layout import Layout

logger = logging.getLogger(__name__)

SIDECAR_CONTENT_TYPE = 'application/json; profile="newsarchive.sidecar/1"'


@dataclass(frozen=True, slots=True)
class Written:
    """A written response, as the records that refer to it later need it.

    The service remembers one per response for the last :data:`RECENT`
    responses (a sidecar arrives once its page is extracted): a small frozen
    object, not the :class:`Ticket` with its :class:`threading.Event`, so the
    memory this takes stays small and flat (issue #19).
    """

    record_id: str
    url: str
    fetched_at: datetime
    location: Location
    payload_digest: str | None

    def capture(self) -> dict[str, Any]:
        """The sidecar schema's ``capture`` object."""
        return {
            "warc_filename": self.location.filename,
            "offset": self.location.offset,
            "length": self.location.length,
            "record_id": self.record_id,
            "payload_digest": self.payload_digest,
            "fetched_at": records.warc_date(self.fetched_at),
        }


RECENT = 10_000  # responses remembered for their sidecars (see Written)


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

    def written(self) -> Written | None:
        """The compact record of the written response, once written."""
        if self.location is None:
            return None
        return Written(self.record_id, self.url, self.fetched_at, self.location,
                       self.payload_digest)

    def capture(self) -> dict[str, Any] | None:
        """The sidecar schema's ``capture`` object, once written."""
        written = self.written()
        return written.capture() if written is not None else None


@dataclass
class CaptureStats:
    """Counters the progress line and the summary show."""

    responses: int = 0
    revisits: int = 0
    records: int = 0
    bytes_in: int = 0
    sidecars: int = 0
    files_closed: int = 0
    truncated: int = 0  # responses archived with WARC-Truncated


class WarcWriterService:
    """Owns a collection's WARC files and the thread that writes them."""

    def __init__(
        self,
        directory: Path,
        *,
        dedup: bool = True,
        queue_size: int = 256,
        on_close: Callable[..., None] | None = None,
        redaction: records.Redaction | None = None,
        digest: Callable[[], Any] | None = None,
        read_pages: Callable[[BinaryIO, str], Iterable[Any]] | None = None,
        host: str | None = None,
        dedup_index: Any = None,
        on_written: Callable[[str], None] | None = None,
        **files: Unpack[FileOptions],  # for the WarcFileSet: prefix, max_size, gzip_level...
    ) -> None:
        """``digest``: a running digest of each file for ``on_close`` (see
        :class:`~newsarchive.capture.writer.WarcFileSet`); ``read_pages``: the
        archived-page reader the reconcile scan finds unextracted pages with
        (:func:`~newsarchive.capture.reconcile.scan`). The crawl's wiring hands
        both in; the capture stage imports neither the store nor extraction."""
        self.directory = Path(directory)
        self.redaction = redaction or records.Redaction()  # header values never archived
        # A worker of a shared folder (crawl --frontier) names its files with its own
        # ``host`` and recovers and reconciles only those, with a marker of its own.
        self.marker = MARKER if host is None else MARKER.with_name(f"unsettled-{host}.json")
        self.recovered = recover_directory(self.directory, f"*-{host}.*" if host else "*")
        self.dedup = dedup_index if dedup and dedup_index is not None else (
            DigestIndex(Layout(self.directory).dedup_db, commit_every=1)
            if dedup else None
        )
        since = unsettled_since(self.directory, self.marker)
        self.reconciled = (
            scan(self.directory, since, self.dedup, read_pages, f"*-{host}" if host else "*")
            if since is not None else Reconciled()
        )
        # Files written from now on belong to this run (see reconcile.MARKER).
        self.run_started = time.time()
        mark_unsettled(self.directory, self.run_started if since is None else since, self.marker)
        self._settled = False
        self._abandoned = False
        self._aborting = False
        self._log_lock = threading.Lock()
        if not self.reconciled.pages:
            self.settle()
        self.files = WarcFileSet(self.directory, on_close=self._closed, digest=digest, host=host, **files)
        self._on_close = on_close
        # Told an exchange's ``mark`` once its records are flushed, before its crawl.log
        # line: a frontier's "this request is archived" (newsarchive.fetch.frontier).
        self._on_written = on_written
        self.stats = CaptureStats()
        self.error: NewsarchiveError | None = None
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue(maxsize=queue_size)
        self._recent: OrderedDict[str, Written] = OrderedDict()
        layout = Layout(self.directory)
        layout.logs_dir.mkdir(parents=True, exist_ok=True)
        self._crawl_log = open(layout.crawl_log, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
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
        """Wait until everything queued so far is written (at once if the writer stopped)."""
        marker = threading.Event()
        if self._thread.is_alive():
            self._put(("marker", marker))
        deadline = None if timeout is None else time.monotonic() + timeout
        while not marker.wait(0.2) and self._thread.is_alive():
            if deadline is not None and time.monotonic() > deadline:
                break
        self._raise_if_failed()

    def adopt(self, page: Any) -> None:
        """Let :meth:`submit_sidecar` write a sidecar for ``page``, an
        :class:`~newsarchive.extract.archive.ArchivedPage` found by the reconcile scan."""
        capture = page.capture
        self._put(("adopt", Written(
            record_id=page.refers_to,
            url=page.url,
            fetched_at=datetime.fromisoformat(capture["fetched_at"].replace("Z", "+00:00")),
            location=Location(capture["warc_filename"], capture["offset"], capture["length"]),
            payload_digest=capture.get("payload_digest"),
        )))

    def settle(self) -> None:
        """The reconcile scan's pages have their sidecars (queued): write them, then
        move the unsettled marker to this run's start."""
        if self._settled:
            return
        if self.reconciled.pages:
            self.flush()
        if not self._abandoned:  # else the next start must read those files again
            mark_unsettled(self.directory, self.run_started, self.marker)
        self.reconciled.pages = []
        self._settled = True

    def abandoned(self) -> None:
        """Some archived page will get no sidecar in this run: keep the marker, so the
        next start extracts it."""
        self._abandoned = True

    def log_failure(self, code: int, url: str, kind: str, reason: str) -> None:
        """A crawl.log line for a fetch that archived nothing (Heritrix's negative codes)."""
        date = records.warc_date(datetime.now(UTC))
        reason = " ".join(reason.split())[:300] or "-"
        with self._log_lock:
            if not self._crawl_log.closed:
                self._crawl_log.write(f"{date} {code} - {url} - - {kind} - {reason}\n")

    def abort(self, timeout: float = 3.0) -> None:
        """Stop at once: drop what is queued, close the files after the record being
        written (each record is whole), leave the marker for the next start."""
        self._aborting = True
        self._abandoned = True
        if self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
            self._thread.join(timeout)

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
        if self._settled and not self._abandoned and not self._aborting:
            mark_settled(self.directory, self.marker)

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
                if item is None or self._aborting:
                    break
                kind, payload = item
                if kind == "adopt":
                    self._remember(payload)
                elif kind == "exchange":
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
            logger.error("%s", self.error)
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
        try:
            self._write_exchange_records(ex, ticket)
        finally:
            if ex.spool is not None:
                ex.spool.close()

    def _write_exchange_records(self, ex: Exchange, ticket: Ticket) -> None:
        size = ex.body_size
        digest = (ex.spool.payload_digest() if ex.spool is not None
                  else ex.payload_digest or records.sha1_digest(ex.body))
        ticket.payload_digest = digest
        # A cut body is never a revisit of a whole one, nor their original.
        dedup = self.dedup if size and "WARC-Truncated" not in ex.warc_headers else None
        original = dedup.lookup(digest) if dedup is not None else None
        earlier = ex.not_modified_digest if ex.status == 304 else None
        not_modified = earlier is not None and self.dedup is not None
        if earlier is not None and self.dedup is not None:
            # The earlier capture holds the page's payload (a 304 has none); one
            # the index does not know leaves the 304 archived as the response it is.
            original = self.dedup.lookup(earlier)
            not_modified = original is not None
            if original is not None:
                digest = ticket.payload_digest = earlier
        assert ex.record_id is not None
        record_id = ex.record_id
        request = records.request_record(ex, record_id, self.redaction)
        if original is not None:
            response = records.revisit_record(
                ex, record_id, digest, original.uri, original.date, original.record_id,
                self.redaction, not_modified=not_modified,
            )
            ticket.revisit = True
            locations = self.files.write([response, request], earliest=ex.fetched_at)
        elif ex.spool is not None:
            locations = self.files.write_streamed(
                lambda out, info: records.response_record(
                    ex, record_id, digest, self.redaction, out, info),
                [request], earliest=ex.fetched_at,
            )
        else:
            response = records.response_record(ex, record_id, digest, self.redaction)
            locations = self.files.write([response, request], earliest=ex.fetched_at)
        ticket.location = locations[0]
        date = records.warc_date(ex.fetched_at)
        # Noted as archived before its digest is shared: a kill between the two then
        # leaves a digest unknown to the index (a later copy is archived whole), not a
        # page fetched again by another frontier worker as a revisit of itself.
        if ex.mark is not None and self._on_written is not None:
            try:
                self._on_written(ex.mark)
            except Exception as exc:  # then fetched again after a kill: a revisit, not a loss
                logger.warning("cannot note %s as archived: %s", ex.url, exc)
        if original is None and dedup is not None:
            dedup.add(digest, ex.url, date, ex.record_id)
        self.stats.records = self.files.records_written  # warcinfo records included
        self.stats.bytes_in += size
        if "WARC-Truncated" in ex.warc_headers:
            self.stats.truncated += 1
        if ticket.revisit:
            self.stats.revisits += 1
        else:
            self.stats.responses += 1
        with self._log_lock:
            self._crawl_log.write(
                f"{date} {ex.status} {size} {ex.url} {ticket.location.filename} "
                f"{ticket.location.offset} {'revisit' if ticket.revisit else 'response'} "
                f"{ex.record_id}\n"
            )
        self._remember(Written(record_id, ex.url, ex.fetched_at, ticket.location, digest))
        ticket.done.set()

    def _remember(self, written: Written) -> None:
        self._recent[written.record_id] = written
        if len(self._recent) > RECENT:
            self._recent.popitem(last=False)

    def _write_sidecar(self, record_id: str, sidecar: dict[str, Any]) -> None:
        ticket = self._recent.get(record_id)
        if ticket is None:
            logger.warning("no archived response %s for a sidecar; not written", record_id)
            return
        if sidecar.get("capture") is None:
            sidecar = {**sidecar, "capture": ticket.capture()}
        else:
            sidecar = {**sidecar, "capture": {**ticket.capture(), **sidecar["capture"]}}  # type: ignore[dict-item]
        payload = sidecar_json(sidecar)
        when = datetime.now(UTC)
        self.files.write_sidecar(payload + b"\n", records.metadata_record(
            records.own_uri("sidecar", ticket.url), record_id, payload, SIDECAR_CONTENT_TYPE,
            when, refers_to_uri=ticket.url, refers_to_date=records.warc_date(ticket.fetched_at)))
        self.stats.records = self.files.records_written
        self.stats.sidecars += 1

    def _write_record(
        self, uri: str, refers_to: str, payload: bytes, content_type: str, record_type: str
    ) -> None:
        when = datetime.now(UTC)
        ticket = self._recent.get(refers_to)
        self.files.write([records.metadata_record(
            uri, refers_to, payload, content_type, when, None, record_type,
            refers_to_uri=ticket.url if ticket else None,
            refers_to_date=records.warc_date(ticket.fetched_at) if ticket else None)])
        self.stats.records = self.files.records_written


def wait_written(ticket: Ticket, timeout: float = 60.0) -> bool:
    """Block until ``ticket`` is written (tests and the browser capture use it)."""
    deadline = time.monotonic() + timeout
    while not ticket.done.wait(0.1):
        if time.monotonic() > deadline:
            return False
    return True
