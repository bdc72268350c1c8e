"""Servers on loopback for tests and benchmarks: a free port, and waiting until one answers.

Every helper process (moto, stock pywb, the demo site in its own process)
is started the same way: pick a free port, start it, poll until it answers,
and fail at once -- with what it said -- if it exits first. The benchmarks
(``benchmarks/support.py``) use these too.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable


def free_port() -> int:
    """A TCP port nobody listens on right now on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_answers(url: str) -> Callable[[], object]:
    """A probe for :func:`wait_until_up`: ``url`` answers a GET (any status but an error)."""

    def probe() -> object:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.read()

    return probe


def wait_until_up(
    probe: Callable[[], object],
    proc: subprocess.Popen[bytes],
    what: str,
    timeout: float = 60.0,
) -> None:
    """Call ``probe`` until it returns without an ``OSError``.

    Raises :class:`RuntimeError` (after killing ``proc``) when ``proc`` exits
    first or ``timeout`` seconds pass: generous by default, since a test must
    hold on a loaded machine.
    """
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before it answered")
        try:
            probe()
            return
        except OSError:  # urllib's URLError is one; so is a refused connection
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise RuntimeError(f"{what} did not answer within {timeout:g} s") from None
            time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End a test server: SIGTERM, then SIGKILL if it has not gone within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
