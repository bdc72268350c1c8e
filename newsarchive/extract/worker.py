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
"""

from __future__ import annotations

import ctypes
import logging
import os
import pickle
import resource
import signal
import sys
import traceback
from multiprocessing.connection import Connection

PR_SET_PDEATHSIG = 1
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


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when its parent goes (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the closed pipe still ends the loop
        pass
    if os.getppid() != parent:  # the parent was gone before the call
        sys.exit(0)


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


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``FD_IN FD_OUT MEMORY PARENT_PID``."""
    args = sys.argv[1:] if argv is None else argv
    fd_in, fd_out, memory, parent = (int(a) for a in args)
    _die_with_parent(parent)
    # Warnings of the extractor are per-page noise here; the parent reports failures.
    logging.basicConfig(level=logging.ERROR, format="extract worker: %(name)s: %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    serve(fd_in, fd_out, memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
