"""The start of a crawl after a kill: dedup index and sidecars agree with the WARC files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from newsarchive.capture.reconcile import MARKER, unsettled_since
from newsarchive.capture.service import WarcWriterService, wait_written
from newsarchive.extract.archive import PageReader
from tests.test_capture_service import make_exchange, read_records

PAGE = b"<html><head><title>A story</title></head><body><p>Words.</p></body></html>"


def killed_run(folder: Path) -> str:
    """A run that wrote two pages and was 'killed': its last digest never committed,
    no sidecar written, the service never closed."""
    svc = WarcWriterService(folder, read_pages=PageReader)
    page = svc.submit(make_exchange("/story.html", PAGE))
    image = make_exchange("/image.png", b"\x89PNG...")
    image.response_headers = [(b"Content-Type", b"image/png")]
    other = svc.submit(image)
    assert wait_written(page) and wait_written(other)
    svc.flush()
    # What a kill between the record and the digest's commit leaves:
    db = sqlite3.connect(folder / "state" / "dedup.sqlite")
    db.execute("DELETE FROM digests")
    db.commit()
    db.close()
    svc.abort()  # stop the thread without settling (as a kill would)
    return page.record_id


def test_a_clean_close_leaves_nothing_to_reconcile(tmp_path: Path) -> None:
    svc = WarcWriterService(tmp_path, read_pages=PageReader)
    assert (tmp_path / MARKER).exists()
    svc.submit(make_exchange("/a.html", PAGE))
    svc.close()
    assert unsettled_since(tmp_path) is None
    again = WarcWriterService(tmp_path, read_pages=PageReader)
    assert again.reconciled.files == 0 and again.reconciled.pages == []
    again.close()


def test_after_a_kill_the_digest_is_back_and_the_page_awaits_its_sidecar(tmp_path: Path) -> None:
    record_id = killed_run(tmp_path)
    assert unsettled_since(tmp_path) is not None
    svc = WarcWriterService(tmp_path, read_pages=PageReader)
    found = svc.reconciled
    assert found.files == 1 and found.digests == 2
    (page,) = found.pages  # the HTML page, not the image
    assert page.refers_to == record_id and page.url.endswith("/story.html")
    assert page.capture["offset"] > 0 and page.capture["warc_filename"].endswith(".warc.gz")
    # The same payload again is a revisit, not a second full copy.
    again = svc.submit(make_exchange("/story.html", PAGE))
    assert wait_written(again) and again.revisit
    # The sidecar goes out referring to the old record; then the run settles.
    svc.adopt(page)
    svc.submit_sidecar(record_id, {"url": page.url, "title": "A story"})
    svc.settle()
    svc.close()
    assert unsettled_since(tmp_path) is None
    metadata = [h for t, h, _ in read_records(tmp_path) if t == "metadata"]
    assert [h["WARC-Refers-To"] for h in metadata] == [record_id]
    # Settled: the next start reads nothing again.
    third = WarcWriterService(tmp_path, read_pages=PageReader)
    assert third.reconciled.files == 0
    third.close()


def test_an_unsettled_run_stays_unsettled_until_its_pages_have_sidecars(tmp_path: Path) -> None:
    killed_run(tmp_path)
    svc = WarcWriterService(tmp_path, read_pages=PageReader)
    assert len(svc.reconciled.pages) == 1
    svc.abort()  # killed again before extracting it
    svc = WarcWriterService(tmp_path, read_pages=PageReader)
    assert len(svc.reconciled.pages) == 1, "the page is found again"
    svc.abandoned()  # an interrupted run that could not extract everything
    svc.settle()
    svc.close()
    assert unsettled_since(tmp_path) is not None
    svc = WarcWriterService(tmp_path, read_pages=PageReader)
    assert len(svc.reconciled.pages) == 1, "and found again on the next start"
    svc.close()


@pytest.mark.slow  # starts a process that arms its parent-death signal late
def test_a_fork_server_whose_command_died_while_it_started_exits(tmp_path: Path) -> None:
    # The fork server arms its parent-death signal only after its imports; a
    # command killed before that must not leave it running under init.
    import os
    import subprocess
    import sys
    import time

    pidfile = tmp_path / "child.pid"
    code = ("import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); "
            "time.sleep(1); from newsarchive.lifetime import die_with_parent; "
            "die_with_parent(int(sys.argv[2])); time.sleep(60)")
    parent = subprocess.Popen(
        ["bash", "-c", f'"{sys.executable}" -c "{code}" "{pidfile}" $$ & sleep 0.3'],
        cwd=Path(__file__).parent.parent)
    parent.wait(timeout=60)  # the "crawl" is gone; its child is reparented
    deadline = time.monotonic() + 60
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    child = int(pidfile.read_text())
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(child, 9)
        raise AssertionError("the orphaned child kept running")
