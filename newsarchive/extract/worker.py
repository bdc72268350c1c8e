"""The extraction worker process that :class:`~newsarchive.extract.bounded.BoundedExtractor` runs.

``python -m newsarchive.extract.worker FD_IN FD_OUT MEMORY PARENT_PID``: reads
pickled pages from ``FD_IN`` and answers each on ``FD_OUT`` with
``(kind, value, resident_bytes)``, kind one of ``ok`` (the sidecar),
``refused`` (not an HTML page: the message), ``error`` (the extractor raised:
message and traceback) or ``memory`` (over the limit: the worker exits after
saying so). It first imports and warms up the extractor, then caps its own
address space at that size plus twice ``MEMORY`` bytes -- a backstop: the
parent kills it as soon as its resident memory grows by ``MEMORY`` -- and says
``ready`` with its resident size. It dies
with its parent (``PR_SET_PDEATHSIG``), and exits when the parent closes the pipe.

``python -m newsarchive.extract.worker --template SOCKET PARENT_PID`` is a
template (:class:`~newsarchive.extract.forked.WorkerTemplate`): it imports and
warms up the extractor once, then forks a worker for each request on the Unix
socket ``SOCKET`` (the request carries the worker's two pipe ends), which goes on
as above from the warm heap, and reaps the workers it forked when asked. It
dies with its parent; its workers die with it.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import resource
import signal
import socket
import sys
import time
import traceback
from multiprocessing.connection import Connection

from newsarchive.lifetime import die_with_parent

# Pages that take the extractor's paths with a slow first call: a story, and a page
# without one (trafilatura's justext rescue builds its stoplists, seconds, on first use).
WARM_UP_PAGES = (
    b"<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
    b"<p>" + b"A paragraph that makes the extractor load what it needs. " * 8
    + b"</p></article></body></html>",
    b"<html><body><a href='/a.html'>a</a> <a href='/b.html'>b</a></body></html>",
)


def memory_of(pid: int | str = "self") -> tuple[int, int]:
    """(virtual size, resident size) of a process in bytes, from ``/proc/PID/statm``."""
    with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
        size, resident = fh.read().split()[:2]
    page = os.sysconf("SC_PAGE_SIZE")
    return int(size) * page, int(resident) * page


def _answer(job: bytes) -> tuple[str, object]:
    from newsarchive.exceptions import ExtractionError
    from newsarchive.extract import extract_sidecar

    body, url, content_type, capture, fetched_at = pickle.loads(job)
    try:
        return "ok", extract_sidecar(body, url, content_type=content_type, capture=capture,
                                     fetched_at=fetched_at)
    except ExtractionError as exc:
        return "refused", str(exc)
    except MemoryError:
        raise
    except Exception as exc:  # any bug on one page: that page's error, not the worker's end
        return "error", (f"{type(exc).__name__}: {exc}", traceback.format_exc())


def serve(fd_in: int, fd_out: int, memory: int) -> None:
    """Answer pages until the parent closes the pipe (see the module docstring)."""
    pages = Connection(fd_in, writable=False)
    answers = Connection(fd_out, readable=False)
    from newsarchive.extract import extract_sidecar

    for page in WARM_UP_PAGES:
        extract_sidecar(page, "http://warm-up.invalid/")
    size, resident = memory_of()
    if memory > 0:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = size + 2 * memory
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    answers.send_bytes(pickle.dumps(("ready", resident)))
    while True:
        try:
            job = pages.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            kind, value = _answer(job)
            del job
            reply = pickle.dumps((kind, value, memory_of()[1]), protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            kind, value = "memory", None
            reply = pickle.dumps(("memory", None, 0))
        answers.send_bytes(reply)
        if kind == "memory":
            return  # a heap that ran out is not trusted with the next page


def _forked_worker(sock: socket.socket, fds: list[int], memory: int, template: int) -> None:
    """In the child of a fork: a worker on ``fds`` (never returns to the template's loop)."""
    code = 0
    try:
        sock.close()
        die_with_parent(template)
        serve(fds[0], fds[1], memory)
    except BaseException:  # noqa: BLE001 - a child of a fork must never go on as the template
        code = 1
    finally:
        os._exit(code)


def _reap(pid: int, seconds: float) -> bytes:
    """A forked worker's exit code as Popen gives it (``-N``: signal N), once it ended."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return b"gone"
        if done:
            return b"exit %d" % os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            return b"running"
        time.sleep(0.01)


def serve_template(sock_fd: int) -> None:
    """Fork warm workers on request until the parent closes the socket (module docstring).

    Requests: ``fork MEMORY`` with the worker's two pipe ends as ancillary file
    descriptors, answered ``pid PID``; ``reap PID SECONDS``, answered ``exit CODE``,
    ``running`` or ``gone``. A worker is reaped only when asked, so its pid
    cannot be reused while the parent may still signal it.
    """
    from newsarchive.extract import extract_sidecar

    for page in WARM_UP_PAGES:
        extract_sidecar(page, "http://warm-up.invalid/")
    # The warm heap stays out of the collector's scans: fewer of its pages are
    # written (so copied) in each forked worker.
    gc.freeze()
    sock = socket.socket(fileno=sock_fd)
    sock.send(b"ready")
    me = os.getpid()
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 256, 2)
        except OSError:
            return
        if not message:
            return  # the parent closed its end
        command, *args = message.split()
        if command == b"fork" and len(fds) == 2:
            pid = os.fork()
            if pid == 0:
                _forked_worker(sock, fds, int(args[0]), me)
            for fd in fds:
                os.close(fd)
            sock.send(b"pid %d" % pid)
        elif command == b"reap":
            sock.send(_reap(int(args[0]), float(args[1])))
        else:
            for fd in fds:
                os.close(fd)
            sock.send(b"error unknown request")


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``FD_IN FD_OUT MEMORY PARENT_PID``, or ``--template SOCKET PARENT_PID``."""
    args = sys.argv[1:] if argv is None else argv
    template = args[:1] == ["--template"]
    numbers = [int(a) for a in args[1:]] if template else [int(a) for a in args]
    die_with_parent(numbers[-1])
    # Warnings of the extractor are per-page noise here; the parent reports failures.
    logging.basicConfig(level=logging.ERROR, format="extract worker: %(name)s: %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if template:
        serve_template(numbers[0])
    else:
        serve(numbers[0], numbers[1], numbers[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
