"""``newsarchive demo``: the main job on embedded defaults, as the README runs it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from newsarchive.capture.check import check_path
from tests.plugins.net import free_port

pytestmark = pytest.mark.slow  # the demo verb crawls the demo site

BIN = str(Path(sys.executable).with_name("newsarchive"))


def demo(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BIN, "demo", "--out", str(out), *extra], capture_output=True, text=True, timeout=600
    )


def test_demo_archives_the_site_and_a_second_run_is_incremental(tmp_path: Path) -> None:
    out = tmp_path / "demo-archive"
    port = str(free_port())  # the default 8765 may be busy on a developer's machine
    first = demo(out, "--json", "--port", port)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["pages"] >= 70 and summary["errors"] == 0
    assert summary["sidecars"] >= 55 and summary["robots_forbidden"] == 1
    for f in summary["warc_files"]:
        assert check_path(f).ok
    assert list((out / "sidecars").glob("*.sidecars.jsonl.gz"))
    assert list((out / "indexes").glob("*.cdxj"))
    second = json.loads(demo(out, "--json", "--port", port).stdout)
    # Same URLs (same port): nothing new to fetch, nothing stored twice.
    assert second["pages"] < summary["pages"] / 4
    assert second["responses"] == 0


def test_demo_prints_a_human_summary_and_survives_a_taken_port(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        done = demo(tmp_path / "a", "--port", str(port), "--articles", "5", "--quiet")
    assert done.returncode == 0, done.stderr
    assert f"port {port} is taken" in done.stderr
    for line in ("pages fetched", "WARC records", "sidecars", "WARC files", "crawl log"):
        assert line in done.stdout
    bad = demo(tmp_path / "b", "--articles", "0")
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "newsarchive: error: --articles must be between 1 and 100,000, not 0")
