"""Extraction workers forked from a warm template process (``extract --jobs N``).

A worker started from scratch spends about 1.9 CPU-s before its first page:
Python, the extractor's imports (trafilatura, htmldate, py3langid's model) and
the warm-up pages (``benchmarks/README.md``). With ``--jobs 2`` on a folder of
pages that start was paid once more for the second worker, which then gained
nothing on a small folder or a busy machine. A :class:`WorkerTemplate` pays it
once: one process (``newsarchive.extract.worker --template``) imports and warms
up, then forks each worker from its warm heap, in milliseconds. A replaced
worker (over a page's limits, or dead) is forked the same way.

The workers are the template's children, not ours: :class:`ForkedProcess`
holds one by a pidfd (signals go to that very process, never to a reused pid)
and has the template reap it, which gives its exit code. The template dies
with this process, and its workers with it (``PR_SET_PDEATHSIG``); closing the
template ends its workers, so their users close them first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

logger = logging.getLogger(__name__)


def worker_process(args: list[str], pass_fds: tuple[int, ...]) -> subprocess.Popen[bytes]:
    """``python -m newsarchive.extract.worker ARGS`` with this checkout on its path.

    In its own process group: a terminal's Ctrl-C (SIGINT to the caller's group)
    is the caller's to handle; it would otherwise reach a worker still importing,
    before it ignores SIGINT, as a traceback. It still dies with its parent
    (``PR_SET_PDEATHSIG``, the parent pid it is given).
    """
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
    return subprocess.Popen(  # noqa: S603 - our own module, no shell
        [sys.executable, "-m", "newsarchive.extract.worker", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env,
        pass_fds=pass_fds, close_fds=True, process_group=0,
    )


class TemplateGone(Exception):
    """The template could not be started, or no longer answers."""


class WorkerTemplate:
    """A warm process that forks extraction workers (see the module docstring).

    Thread-safe; :meth:`start` starts it (it warms up while the caller goes on),
    :meth:`fork` waits for it the first time.
    """

    def __init__(self, start_timeout: float) -> None:
        self.start_timeout = start_timeout
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._ready = False
        self._failed: str | None = None

    def start(self) -> None:
        """Start the template process (idempotent)."""
        with self._lock:
            self._start()

    def _start(self) -> None:
        if self._proc is not None or self._failed:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._proc = worker_process(["--template", str(theirs.fileno()), str(os.getpid())],
                                        (theirs.fileno(),))
        except OSError as exc:
            ours.close()
            self._failed = f"cannot start the extraction template: {exc}"
        else:
            self._sock = ours
        finally:
            theirs.close()

    def _ask(self, message: bytes, fds: tuple[int, ...] = ()) -> bytes:
        """Send a request and wait for its answer (lock held)."""
        self._start()
        if self._failed or self._sock is None:
            raise TemplateGone(self._failed or "the extraction template is closed")
        try:
            if not self._ready:
                if not select.select([self._sock], [], [], self.start_timeout)[0]:
                    raise TemplateGone(f"the extraction template did not start within "
                                       f"{self.start_timeout:g} s")
                if self._sock.recv(64) != b"ready":
                    raise TemplateGone("the extraction template did not start")
                self._ready = True
            socket.send_fds(self._sock, [message], list(fds))
            answer = self._sock.recv(64)
        except OSError as exc:
            answer = b""
            logger.debug("extraction template: %s", exc)
        if not answer:
            self._failed = "the extraction template is gone"
            raise TemplateGone(self._failed)
        return answer

    def fork(self, fd_in: int, fd_out: int, memory: int) -> ForkedProcess:
        """A worker forked from the template, reading pages from ``fd_in`` and answering on
        ``fd_out`` (the caller keeps and closes its copies). Raises :class:`TemplateGone`."""
        with self._lock:
            try:
                answer = self._ask(b"fork %d" % memory, (fd_in, fd_out))
            except TemplateGone:
                self._stop()
                raise
        kind, _, value = answer.partition(b" ")
        if kind != b"pid":
            raise TemplateGone(f"the extraction template refused: {value.decode(errors='replace')}")
        return ForkedProcess(self, int(value))

    def reap(self, pid: int, seconds: float) -> int | None:
        """The exit code of an ended worker (Popen's: ``-N`` for signal N); None while it
        runs. A worker the template no longer knows (or a lost template: its workers
        died with it) counts as killed."""
        with self._lock:
            try:
                answer = self._ask(b"reap %d %g" % (pid, seconds))
            except TemplateGone:
                return -signal.SIGKILL
        kind, _, value = answer.partition(b" ")
        if kind == b"running":
            return None
        return int(value) if kind == b"exit" else -signal.SIGKILL

    def _stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
        self._failed = self._failed or "the extraction template is closed"

    def close(self) -> None:
        """Stop the template; the workers it forked die with it."""
        with self._lock:
            self._stop()


class ForkedProcess:
    """A worker forked by a :class:`WorkerTemplate`, with the part of
    :class:`subprocess.Popen` that :class:`~newsarchive.extract.bounded.BoundedExtractor` uses."""

    def __init__(self, template: WorkerTemplate, pid: int) -> None:
        self.template = template
        self.pid = pid
        self.returncode: int | None = None
        # The template reaps it only when asked: until then the pid is this process's.
        self._fd: int | None = os.pidfd_open(pid)
        self._fd_lock = threading.Lock()  # kill() may come from another thread

    def _ended(self, timeout: float | None) -> bool:
        assert self._fd is not None
        return bool(select.select([self._fd], [], [], timeout)[0])

    def _collect(self) -> None:
        self.returncode = self.template.reap(self.pid, 5.0)
        if self.returncode is None:  # ended by its pidfd, yet not reapable: count it killed
            self.returncode = -signal.SIGKILL
        with self._fd_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def poll(self) -> int | None:
        """The exit code if the worker ended, else None."""
        if self.returncode is None and self._ended(0):
            self._collect()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the worker to end (:class:`subprocess.TimeoutExpired` after ``timeout``)."""
        if self.returncode is None:
            if not self._ended(timeout):
                raise subprocess.TimeoutExpired("extraction worker", timeout or 0)
            self._collect()
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        """SIGKILL the worker (a no-op once it ended)."""
        with self._fd_lock:
            if self.returncode is None and self._fd is not None:
                with contextlib.suppress(ProcessLookupError, OSError):
                    signal.pidfd_send_signal(self._fd, signal.SIGKILL)
