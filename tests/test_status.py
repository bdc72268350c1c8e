"""``newsarchive status``: its counts agree with the folder, before and after a killed crawl.

The folder's truth is counted here another way: WARC files by name on disk,
sidecars from the ``metadata`` records inside the WARC files (``status``
reads the sidecar files and the catalog), and the articles the crawl state
saw fetched.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.plugins.collection import NEWSARCHIVE, crawl


def status(out: Path) -> dict[str, Any]:
    done = subprocess.run([*NEWSARCHIVE, "status", str(out), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def sidecar_urls_in_warcs(out: Path) -> set[str]:
    """URLs of the sidecars stored as WARC metadata records (closed and .open files)."""
    urls: set[str] = set()
    files = sorted((out / "warc").glob("*.warc.gz*"))
    assert files
    for path in files:
        with open(path, "rb") as fh:
            try:
                for rec in ArchiveIterator(fh):
                    ctype = rec.rec_headers.get_header("Content-Type") or ""
                    if rec.rec_type == "metadata" and "newsarchive.sidecar" in ctype:
                        sc = json.loads(rec.content_stream().read())
                        urls.update(u for u in (sc.get("url"), sc.get("canonical_url")) if u)
            except Exception:  # an .open file cut by the kill: what came before counts
                pass
    return urls


def folder_truth(out: Path) -> dict[str, int]:
    db = sqlite3.connect(out / "state" / "crawl.sqlite")
    try:
        articles = db.execute("SELECT url, fetched_url FROM urls WHERE kind = 'article'"
                              " AND last_status BETWEEN 200 AND 299").fetchall()
    finally:
        db.close()
    assert articles
    have = sidecar_urls_in_warcs(out)
    return {
        "warc_files": len(list((out / "warc").glob("*.warc.gz"))),
        "open_files": len(list((out / "warc").glob("*.open"))),
        "articles_without_sidecar": sum(
            1 for url, fetched in articles if url not in have and (fetched or url) not in have),
    }


def crawl_log_lines(out: Path) -> int:
    try:
        return len((out / "logs" / "crawl.log").read_text().splitlines())
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_status_agrees_with_the_folder_before_and_after_a_killed_crawl(
    make_demo_site: Any, tmp_path: Path
) -> None:
    out = tmp_path / "coll"
    summary = crawl(make_demo_site(articles=10).url, out, "--warc-max-size", "60000")
    before = status(out)
    truth = folder_truth(out)
    assert truth["open_files"] == 0 and truth["warc_files"] >= 2
    for key, value in truth.items():
        assert before[key] == value, key
    assert before["warc_bytes"] == sum(p.stat().st_size for p in (out / "warc").glob("*.warc.gz"))
    assert before["articles"] == summary["sidecars"] and before["articles_without_sidecar"] == 0
    assert before["last_run"]["status"] == "ok" and before["health"] == "ok"
    assert before["last_run"]["run_id"] == summary["run_id"]

    # A second site (new URLs) crawled into the same folder, killed mid-way.
    site = make_demo_site(articles=400)
    start = crawl_log_lines(out)
    proc = subprocess.Popen([*NEWSARCHIVE, "crawl", site.url, "--out", str(out), "--json",
                             "--depth", "2", "--warc-max-size", "60000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    # Kill it mid-way, while a WARC file is open (files rotate every 60 kB).
    while ((crawl_log_lines(out) < start + 120 or not list((out / "warc").glob("*.open")))
           and proc.poll() is None and time.monotonic() < deadline):
        time.sleep(0.02)
    assert proc.poll() is None, "the crawl ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    after = status(out)
    truth = folder_truth(out)
    assert truth["open_files"] >= 1
    for key, value in truth.items():
        assert after[key] == value, key
    assert after["warc_files"] > before["warc_files"]
    assert after["last_run"]["status"] == "lost"
    assert after["health"] == "attention"
    assert any(".open" in p for p in after["problems"])


@pytest.mark.slow
@pytest.mark.s3
def test_status_of_a_store_counts_what_the_bucket_holds(
    make_demo_site: Any, s3_server: str, s3_client: Any, s3_bucket: str, tmp_path: Path
) -> None:
    store = f"s3://{s3_bucket}/archive/news"
    summary = crawl(make_demo_site(articles=8).url, tmp_path / "spool", "--render", "never",
                    "--store", store, "--endpoint-url", s3_server)
    listed = s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="archive/news/warc/")
    warcs = [o for o in listed.get("Contents", []) if o["Key"].endswith(".warc.gz")]
    done = subprocess.run([*NEWSARCHIVE, "status", store, "--endpoint-url", s3_server, "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["warc_files"] == len(warcs) >= 1  # (the spool's copies were removed once stored)
    assert got["warc_bytes"] == sum(o["Size"] for o in warcs)
    assert got["captures"] == summary["responses"] + summary["revisits"]
    assert got["articles"] == summary["sidecars"]
    assert got["open_files"] == 0 and got["articles_without_sidecar"] is None
