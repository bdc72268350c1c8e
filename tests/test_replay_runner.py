"""`newsarchive replay` keeps answering, and stops on SIGTERM."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from newsarchive.index.collection import Collection
from newsarchive.index.sidecars import iter_sidecars
from tests.plugins.collection import NEWSARCHIVE


@pytest.mark.slow
def test_replay_answers_5000_requests_then_stops_on_sigterm(demo_collection: Path) -> None:
    proc = subprocess.Popen(
        [*NEWSARCHIVE, "replay", str(demo_collection), "--port", "0", "--admin-port", "0",
         "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        parts = urlsplit(info["replay"])
        first = Collection.open(demo_collection).sidecar_files()[0]
        article = next(iter(iter_sidecars(first)))["url"]
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        # Each lookup makes pywb print a line: unread, its pipe filled after ~1,450.
        for i in range(5000):
            conn.request("GET", f"/{info['collection']}/{article}")
            resp = conn.getresponse()
            resp.read()
            assert resp.status in (200, 302), f"request {i}: HTTP {resp.status}"
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
