"""Extraction with a time limit and a memory limit per page.

A page can make the parsers work without end: 40,000 attributes on one ``<p>``
keep lxml and trafilatura busy for minutes, in C code that no Python signal
interrupts. So pages are extracted in a worker process
(:mod:`newsarchive.extract.worker`) that :class:`BoundedExtractor` feeds one
page at a time and kills when the page's time is up (``SIDECAR_TIME_LIMIT``).
While it waits, the parent watches the worker's resident memory and kills
it once a page has grown it by ``SIDECAR_MEMORY_LIMIT``; as a backstop for
allocations faster than that watch, the worker caps its own address space
(``RLIMIT_AS``) at its warm size plus twice the limit, where allocations fail
(``MemoryError``) instead of taking the machine.
A worker that died, was killed or grew is replaced; the next page does not
notice.

With ``depth`` 2 (the crawl's :class:`~newsarchive.extract.pipeline.SidecarPipeline`)
a second caller's page is sent while the worker is still on the first, so the
worker finds its next page waiting in its pipe when it answers: it never waits
for the calling process to be scheduled (and, in a crawl, for the reactor
thread to give up the GIL) between two pages. Answers are still read, and the
limits watched, one page at a time, in the order the pages were sent; a page's
time counts from when the answer before it was read. A page sent to a worker
that is then replaced is sent again to the next one.

Whatever goes wrong with a page -- over time, over memory, any exception in
the extractor -- the page gets a sidecar with no content and
``extractor.error`` saying why (:func:`error_sidecar`), and the caller goes on
with the next page. Only input that is not an HTML page at all (empty,
binary) still raises :class:`~newsarchive.exceptions.ExtractionError`, as
:func:`~newsarchive.extract.extract_sidecar` does: there is nothing to
describe.

The parsers see at most ``SIDECAR_MAX_BYTES`` of a page: a longer body is cut
at a tag boundary before it is parsed (``extractor.truncated``).
"""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import signal
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from newsarchive import __version__, settings
from newsarchive.exceptions import ExtractionError
from newsarchive.extract.sidecar import EXTRACTOR, SCHEMA_ID

if TYPE_CHECKING:
    from newsarchive.extract.forked import ForkedProcess, WorkerTemplate

logger = logging.getLogger(__name__)

#: seconds a new worker may take to import the extractor and warm up
START_TIMEOUT = 120.0
#: longest ``extractor.error`` message
ERROR_CHARS = 300
#: where a cut may move back to, looking for a tag boundary
_CUT_WINDOW = 65536
#: seconds between two looks at the worker's memory while a page is extracted
WATCH_EVERY = 0.05


@dataclass(frozen=True)
class Limits:
    """What one page may cost: seconds, bytes of memory, bytes of input (0: no limit)."""

    seconds: float = settings.SIDECAR_TIME_LIMIT
    memory: int = settings.SIDECAR_MEMORY_LIMIT
    max_bytes: int = settings.SIDECAR_MAX_BYTES

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        """From ``SIDECAR_TIME_LIMIT``, ``SIDECAR_MEMORY_LIMIT``, ``SIDECAR_MAX_BYTES``."""
        return cls(seconds=settings.getfloat("SIDECAR_TIME_LIMIT", cls.seconds),
                   memory=settings.getint("SIDECAR_MEMORY_LIMIT", cls.memory),
                   max_bytes=settings.getint("SIDECAR_MAX_BYTES", cls.max_bytes))


def cut(body: bytes | str, max_bytes: int) -> tuple[bytes | str, bool]:
    """``body`` cut to at most ``max_bytes`` (0: no limit), and whether it was cut.

    The cut goes back to the last ``<`` before the limit when there is one
    nearby, so no multi-byte character and no tag is split (lxml closes what
    is left open).
    """
    if not max_bytes or len(body) <= max_bytes:
        return body, False
    mark: Any = b"<" if isinstance(body, bytes) else "<"
    at = body.rfind(mark, max(0, max_bytes - _CUT_WINDOW), max_bytes)
    return body[: at if at > 0 else max_bytes], True


def error_sidecar(url: str, error: str, capture: dict[str, Any] | None = None) -> dict[str, Any]:
    """The sidecar of a page whose extraction failed: no content, ``extractor.error`` why."""
    if len(error) > ERROR_CHARS:
        error = error[: ERROR_CHARS - 3] + "..."
    out: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "url": url,
        "canonical_url": None,
        "title": None,
        "authors": [],
        "publisher": None,
        "published": None,
        "modified": None,
        "dateline": None,
        "language": None,
        "is_article": False,
        "text": "",
        "paragraphs": [],
        "fingerprint": None,
        "ads": [],
        "related": [],
        "capture": capture,
        "extractor": {"name": EXTRACTOR, "version": __version__, "error": error},
    }
    if capture is not None and "rendered" in capture:
        out["rendered"] = bool(capture["rendered"])
    return out


def extraction_error(sidecar: dict[str, Any]) -> str | None:
    """The ``extractor.error`` of a sidecar, None for a sidecar that was extracted."""
    return (sidecar.get("extractor") or {}).get("error")


class WorkerGone(Exception):
    """The worker process could not be started, or died."""


class _Job:
    """A page on its way through the worker: which worker it was sent to, if any."""

    __slots__ = ("data", "sent_to")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.sent_to = 0  # the worker (``BoundedExtractor._spawned``) holding it; 0: none


class BoundedExtractor:
    """Extracts pages in a worker process under :class:`Limits` (see the module docstring).

    Thread-safe (the worker extracts one page at a time; with ``depth`` 2 one
    more caller's page waits in its pipe); :meth:`close` stops the
    worker. The worker is started on first use, or by :meth:`start`; with a
    ``template`` (:class:`~newsarchive.extract.forked.WorkerTemplate`) it is
    forked from that warm process instead of starting from scratch.
    """

    def __init__(self, limits: Limits | None = None, *, start_timeout: float = START_TIMEOUT,
                 template: WorkerTemplate | None = None, depth: int = 1) -> None:
        self.limits = limits or Limits()
        self.start_timeout = start_timeout
        self.template = template
        self.depth = max(depth, 1)  # pages sent to the worker at once
        self.replaced = 0  # workers killed or lost and replaced
        self._lock = threading.Lock()  # the worker's state; held by the page being answered
        self._send_lock = threading.Lock()  # a page being sent ahead, and the pipe it goes to
        self._turns = threading.Condition()  # the callers' order (``_queue``)
        self._queue: deque[_Job] = deque()  # pages taken, oldest (being answered) first
        self._spawned = 0  # workers started so far: which one a page was sent to
        self._proc: subprocess.Popen[bytes] | ForkedProcess | None = None
        self._to: Connection | None = None
        self._from: Connection | None = None
        self._ready = False
        self._base = 0  # the worker's resident memory after warm-up
        self._killed = False  # by kill(): no worker is started again

    def __enter__(self) -> BoundedExtractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the worker ---------------------------------------------------------------
    def _spawn(self) -> None:
        """Start a worker; it gets ready (imports, warm-up) while the caller goes on.
        With a template, forked from it; from scratch if the template is gone."""
        from newsarchive.extract.forked import TemplateGone, worker_process

        parent_in, child_out = os.pipe()
        child_in, parent_out = os.pipe()
        try:
            if self.template is not None:
                try:
                    self._proc = self.template.fork(child_in, child_out, self.limits.memory)
                except TemplateGone as exc:
                    logger.warning("%s; extraction workers start from scratch", exc)
                    self.template = None
            if self._proc is None:
                self._proc = worker_process([str(child_in), str(child_out),
                                             str(self.limits.memory), str(os.getpid())],
                                            (child_in, child_out))
        except OSError as exc:
            for fd in (parent_in, parent_out):
                os.close(fd)
            raise WorkerGone(f"cannot start the extraction worker: {exc}") from exc
        finally:
            os.close(child_in)
            os.close(child_out)
        with self._send_lock:
            self._from = Connection(parent_in, writable=False)
            self._to = Connection(parent_out, readable=False)
            self._spawned += 1
        self._ready = False

    def _wait_ready(self) -> None:
        assert self._from is not None
        try:
            if not self._from.poll(self.start_timeout):
                raise WorkerGone(f"the extraction worker did not start within {self.start_timeout:g} s")
            kind, value = pickle.loads(self._from.recv_bytes())
        except (EOFError, OSError) as exc:
            raise WorkerGone(f"the extraction worker did not start ({self._exit_status()})") from exc
        if kind != "ready":
            raise WorkerGone(f"the extraction worker did not start: {value}")
        self._base, self._ready = int(value), True

    def start(self) -> None:
        """Start the worker now (imports take a while) rather than on the first page."""
        with self._lock:
            if self._proc is None:
                self._spawn()

    def _ensure(self) -> None:
        if self._killed:
            raise WorkerGone("the extraction worker was stopped")
        if self._proc is None:
            self._spawn()
        if not self._ready:
            try:
                self._wait_ready()
            except WorkerGone:
                self._stop()
                raise

    def _exit_status(self) -> str:
        if self._proc is None:
            return "not running"
        try:
            code = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "not answering"
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit status {code}"

    def _stop(self) -> None:
        """Kill the worker (if any) and forget it."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()  # first: a page being sent ahead to it fails at once
        with self._send_lock:
            for conn in (self._to, self._from):
                if conn is not None:
                    conn.close()
            self._to = self._from = None
        if self._proc is not None:
            self._proc.wait()
        self._proc, self._ready = None, False

    def _replace(self) -> None:
        """Kill the worker and start the next one at once, so it warms up meanwhile."""
        self._stop()
        if self._killed:
            return
        self.replaced += 1
        try:
            self._spawn()
        except WorkerGone as exc:
            logger.error("%s", exc)

    def close(self) -> None:
        """Stop the worker."""
        with self._lock:
            self._stop()

    def kill(self) -> None:
        """Kill the worker now, even in the middle of a page (from any thread): the
        page gets an error sidecar, and no worker is started again."""
        self._killed = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    # -- pages --------------------------------------------------------------------
    def extract(self, body: bytes | str, url: str, *, content_type: str | None = None,
                capture: dict[str, Any] | None = None,
                fetched_at: datetime | None = None) -> dict[str, Any]:
        """The sidecar of one page; an error sidecar when extraction failed.

        Raises :class:`ExtractionError` only for input that is not an HTML page.
        """
        body, truncated = cut(body, self.limits.max_bytes)
        job = _Job(pickle.dumps((body, url, content_type, capture, fetched_at),
                                protocol=pickle.HIGHEST_PROTOCOL))
        with self._turns:
            self._turns.wait_for(lambda: len(self._queue) < self.depth)
            self._queue.append(job)
            first = self._queue[0] is job
        try:
            if not first:  # the worker is on an earlier page: this one waits in its pipe
                self._send_ahead(job)
                with self._turns:
                    self._turns.wait_for(lambda: self._queue[0] is job)
            with self._lock:
                try:
                    kind, value = self._run(job)
                except WorkerGone as exc:
                    self._replace()
                    return error_sidecar(url, str(exc), capture)
        finally:
            with self._turns:
                self._queue.remove(job)
                self._turns.notify_all()
        if kind == "refused":
            raise ExtractionError(value)
        if kind != "ok":
            return error_sidecar(url, value, capture)
        if truncated:
            value["extractor"]["truncated"] = True
        return value  # type: ignore[no-any-return]

    def _send_ahead(self, job: _Job) -> None:
        """Send a page to the worker while it extracts the one before (``_lock`` not
        held: that page's caller reads its answer meanwhile). Only behind pages this
        very worker has, so it answers in order; else, or when the send fails (the
        worker was killed or died under it), :meth:`_run` sends it in its turn."""
        with self._send_lock:
            if self._to is None or self._killed:
                return
            with self._turns:
                earlier = list(itertools.takewhile(lambda j: j is not job, self._queue))
            if any(j.sent_to != self._spawned for j in earlier):
                return
            try:
                self._to.send_bytes(job.data)
            except OSError:
                return
            job.sent_to = self._spawned

    def _run(self, job: _Job) -> tuple[str, Any]:
        """Send one page (unless the running worker has it), wait for its answer within
        the time limit (lock held)."""
        for attempt in (1, 2):
            self._ensure()
            assert self._to is not None and self._from is not None
            if job.sent_to == self._spawned:  # sent ahead to this very worker
                break
            try:
                with self._send_lock:
                    self._to.send_bytes(job.data)
                    job.sent_to = self._spawned
                break
            except OSError:  # the idle worker died (the OOM killer...): once more with a new one
                self._stop()
                if attempt == 2:
                    raise WorkerGone("the extraction worker died before the page") from None
        try:
            over = self._watch()
            if over is not None:
                self._replace()
                return "error", over
            assert self._from is not None  # _ensure started the worker
            kind, value, size = pickle.loads(self._from.recv_bytes())
        except (EOFError, OSError):
            status = self._exit_status()
            self._replace()
            return "error", (f"the extraction worker died on this page ({status}); "
                             f"over its {self.limits.memory >> 20} MiB (SIDECAR_MEMORY_LIMIT)?")
        if kind == "memory":
            self._replace()
            return "error", (f"extraction needed more than {self.limits.memory >> 20} MiB "
                             "(SIDECAR_MEMORY_LIMIT); stopped")
        if kind == "error":
            message, trace = value
            logger.info("extraction failed:\n%s", trace)
            value = message
        # Memory freed by a big page is not always given back: a worker that kept
        # half its allowance is replaced before it starts failing good pages.
        if self.limits.memory and size > self._base + self.limits.memory // 2:
            self._replace()
        return kind, value

    def _watch(self) -> str | None:
        """Wait for the answer; the reason to stop the worker if a limit comes first."""
        from newsarchive.extract.worker import memory_of

        assert self._from is not None and self._proc is not None
        seconds, memory = self.limits.seconds, self.limits.memory
        deadline = time.monotonic() + seconds if seconds > 0 else float("inf")
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return f"extraction took longer than {seconds:g} s (SIDECAR_TIME_LIMIT); stopped"
            if self._from.poll(min(left, WATCH_EVERY)):
                return None
            if memory:
                try:
                    resident = memory_of(self._proc.pid)[1]
                except (OSError, ValueError):  # gone: the answer (or EOF) is in the pipe
                    continue
                if resident > self._base + memory:
                    return (f"extraction needed more than {memory >> 20} MiB "
                            "(SIDECAR_MEMORY_LIMIT); stopped")


_shared: dict[tuple[int, Limits], BoundedExtractor] = {}
_shared_lock = threading.Lock()


def shared(limits: Limits) -> BoundedExtractor:
    """This process's extractor for ``limits`` (one worker per process and limits; keyed
    by process id too, so a forked child never talks to its parent's worker)."""
    key = (os.getpid(), limits)
    with _shared_lock:
        found = _shared.get(key)
        if found is None:
            found = _shared[key] = BoundedExtractor(limits)
        return found


def close_shared() -> None:
    """Stop the workers of :func:`shared` extractors."""
    with _shared_lock:
        for (pid, _), extractor in _shared.items():
            if pid == os.getpid():
                extractor.close()
        _shared.clear()
