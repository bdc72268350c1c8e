"""Kill -9 at any moment loses no capture the crawl log reported as written.

The crawl runs as a real process against the demo site; it is killed with
SIGKILL at several points (early, mid-file, after rotations), restarted into
the same collection, and then every WARC file must pass ``warc check`` and
every record named in ``logs/crawl.log`` must be at its file and offset.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsarchive.capture.check import check_path
from tests.plugins.warcs import read_records

BIN = str(Path(sys.executable).with_name("newsarchive"))


def log_lines(out: Path) -> list[str]:
    try:
        return (out / "logs" / "crawl.log").read_text().splitlines()
    except FileNotFoundError:
        return []


def crawl_cmd(url: str, out: Path) -> list[str]:
    return [BIN, "crawl", url, "--out", str(out), "--json", "--depth", "1",
            "--warc-max-size", "150000", "--no-sidecars"]


def kill_after(url: str, out: Path, lines: int) -> list[str]:
    """Start a crawl, SIGKILL it once the log has ``lines`` lines; return the log."""
    proc = subprocess.Popen(crawl_cmd(url, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(log_lines(out)) < lines and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return log_lines(out)


def assert_records_present(out: Path, lines: list[str]) -> None:
    for line in lines:
        fields = line.split()
        if int(fields[1]) < 0:
            continue  # a failed or refused fetch: nothing archived
        filename, offset, record_id = fields[4], int(fields[5]), fields[7]
        path = out / "warc" / filename
        assert path.exists(), f"{filename} (named in the crawl log) is missing"
        with open(path, "rb") as fh:
            fh.seek(offset)
            record = next(iter(read_records(fh)))
            assert record.rec_headers.get_header("WARC-Record-ID") == record_id


@pytest.mark.slow
def test_sigkill_at_several_points_loses_nothing_reported(make_demo_site, tmp_path: Path) -> None:
    site = make_demo_site(articles=300)
    out = tmp_path / "collection"
    promised: list[str] = []
    for point in (3, 60, 250):
        promised = kill_after(site.url, out, len(promised) + point)
        # Closed files are whole even before any recovery.
        for f in (out / "warc").glob("*.warc.gz"):
            assert check_path(str(f)).ok, f
    assert any((out / "warc").glob("*.warc.gz.open")), "the kill should have left an open file"
    done = subprocess.run(crawl_cmd(site.url, out), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["recovered_files"] >= 1
    assert not list((out / "warc").glob("*.open"))
    files = sorted((out / "warc").glob("*.warc.gz"))
    assert len(files) > 3
    for f in files:
        report = check_path(str(f))
        assert report.ok, (f, report.errors)
    assert_records_present(out, promised)
    # Everything after the restart is there too.
    assert_records_present(out, log_lines(out))
