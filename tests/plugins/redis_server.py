"""A real Redis for the tests: Debian's ``redis-server`` on a free loopback port.

No persistence, its own temp folder, stopped at the end. ``redis_url`` gives a
database of its own to each test (``redis://127.0.0.1:PORT/N``), flushed first,
so tests do not see each other's frontiers.
"""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator

import pytest

from tests.plugins.net import free_port, stop, wait_until_up

_databases = itertools.count(1)


def _redis_answers(port: int) -> Callable[[], object]:
    """A probe for :func:`~tests.plugins.net.wait_until_up`: the server answers PING."""

    def probe() -> object:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            if not s.recv(16).startswith(b"+PONG"):
                raise ConnectionError("no PONG yet")  # loading: an OSError, so polled again
        return True

    return probe


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``redis://127.0.0.1:PORT`` of a redis-server running for the session."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed: ./run setup installs Debian's redis-server")
    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    log = folder / "redis.log"
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
         "--save", "", "--appendonly", "no", "--databases", "64", "--logfile", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(_redis_answers(port), proc, "redis-server")
        yield f"redis://127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """A database of the session's Redis for this test alone, empty."""
    import redis

    url = f"{redis_server}/{next(_databases) % 64}"
    redis.Redis.from_url(url).flushdb()
    return url
