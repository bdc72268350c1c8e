"""`newsarchive replay` keeps answering, stops on SIGTERM, and leaves no server after kill -9.

pywb prints a line (``Dir ... unchanged``, ~45 bytes) for every index lookup;
a 64 KiB pipe nobody read was full after ~1,450 lookups and the server hung.
The test makes 2,000 lookups, past that point (each is slow on a loaded
machine: 0.1 s at load 12, so 5,000 would take minutes).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from newsarchive.collection import Collection
from newsarchive.index.sidecars import iter_sidecars
from tests.plugins.collection import NEWSARCHIVE


def start_replay(collection: Path) -> subprocess.Popen[str]:
    """``newsarchive replay`` of ``collection`` on free ports, in a session of its own."""
    return subprocess.Popen(
        [*NEWSARCHIVE, "replay", str(collection), "--port", "0", "--admin-port", "0",
         "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )


def listening(proc: subprocess.Popen[str]) -> dict:
    """The URLs and ports replay prints once both servers listen."""
    assert proc.stdout is not None
    info: dict = json.loads(proc.stdout.readline())
    return info


@pytest.mark.slow
def test_replay_answers_past_a_full_pipe_then_stops_on_sigterm(demo_collection: Path) -> None:
    proc = start_replay(demo_collection)
    try:
        info = listening(proc)
        parts = urlsplit(info["replay"])
        first = Collection.open(demo_collection).sidecar_files()[0]
        article = next(iter(iter_sidecars(first)))["url"]
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        for i in range(2000):
            conn.request("GET", f"/{info['collection']}/cdx?url={article}")
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200 and article.encode() in body, f"lookup {i}: {resp.status}"
        conn.request("GET", f"/{info['collection']}/{article}")
        assert conn.getresponse().status == 200
        conn.close()
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        code = proc.wait(30)
        assert time.monotonic() - t0 < 10, "SIGTERM must stop replay within 10 s"
        assert code == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_a_killed_replay_leaves_no_server_holding_its_ports(demo_collection: Path) -> None:
    # kill -9 of the command gives its server process no word: it must die
    # with the command, or the next 'replay --port N' finds the port taken.
    proc = start_replay(demo_collection)
    try:
        info = listening(proc)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 60
        while True:
            free = []
            for port in (info["replay_port"], info["admin_port"]):
                with socket.socket() as sock:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    try:
                        sock.bind(("127.0.0.1", port))
                        free.append(True)
                    except OSError:
                        free.append(False)
            if all(free) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert all(free), "the replay server still holds its ports after the command was killed"
    finally:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(ProcessLookupError):  # the server, if it outlived the command
            os.killpg(proc.pid, signal.SIGKILL)
