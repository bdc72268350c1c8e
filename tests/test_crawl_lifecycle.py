"""A crawl you can kill, interrupt and trust (issue 12's crawl lifecycle).

Every crawl here is a real ``newsarchive crawl`` process against the demo site
on loopback, started in a session of its own so the test can signal its
process group as a terminal's Ctrl-C does and find any process it left behind.
"""

from __future__ import annotations

import collections
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from newsarchive.capture.check import check_path
from newsarchive.capture.reconcile import EMPTY_DIGEST, SIDECAR_PROFILE
from tests.plugins.s3 import free_port

BIN = str(Path(sys.executable).with_name("newsarchive"))


def crawl_cmd(url: str, out: Path, *extra: str) -> list[str]:
    return [BIN, "crawl", url, "--out", str(out), "--json", *extra]


def start(cmd: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def log_lines(out: Path) -> int:
    try:
        with open(out / "logs" / "crawl.log", "rb") as fh:
            return sum(1 for _ in fh)
    except FileNotFoundError:
        return 0


def wait_for(cond, timeout: float, poll: float = 0.02) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(poll)
    return False


def session_members(sid: int) -> list[str]:
    """``pid comm`` of every process still in session ``sid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(f"{entry.name} {comm}")
    return found


def records(out: Path) -> list[tuple[str, dict[str, str], int | None]]:
    """(type, WARC headers, HTTP status) of every record of the collection."""
    found = []
    for path in sorted((out / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh):
                status = None
                if rec.http_headers is not None and rec.rec_type in ("response", "revisit"):
                    status = int(rec.http_headers.get_statuscode())
                found.append((rec.rec_type, dict(rec.rec_headers.headers), status))
    return found


def assert_exactly_once(out: Path, article_urls: set[str]) -> None:
    recs = records(out)
    full = collections.Counter(
        h["WARC-Payload-Digest"] for t, h, _ in recs
        if t == "response" and h.get("WARC-Payload-Digest") not in (None, EMPTY_DIGEST)
    )
    dups = {d: n for d, n in full.items() if n > 1}
    assert not dups, f"{len(dups)} payloads stored in full more than once"
    sidecar_of = {h.get("WARC-Refers-To") for t, h, _ in recs
                  if t == "metadata" and SIDECAR_PROFILE in h.get("Content-Type", "")}
    articles = {h["WARC-Record-ID"]: h["WARC-Target-URI"] for t, h, status in recs
                if t == "response" and status == 200 and h["WARC-Target-URI"] in article_urls}
    assert len(set(articles.values())) == len(article_urls), "every article archived"
    missing = sorted(url for rid, url in articles.items() if rid not in sidecar_of)
    assert not missing, f"{len(missing)} archived articles without a sidecar: {missing[:3]}"
    # Each sidecar once, in the WARC files and in the sidecar files alike.
    in_warcs = collections.Counter(h.get("WARC-Refers-To") for t, h, _ in recs if t == "metadata"
                                   and SIDECAR_PROFILE in h.get("Content-Type", ""))
    in_files = collections.Counter(sc["capture"]["record_id"] for sc in sidecar_lines(out))
    assert max(in_warcs.values()) == 1 and max(in_files.values()) == 1
    assert in_files == in_warcs


def sidecar_lines(out: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted((out / "sidecars").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            found += [json.loads(line) for line in fh]
    return found


def assert_files_check(out: Path) -> None:
    assert not list((out / "warc").glob("*.open"))
    files = sorted((out / "warc").glob("*.warc.gz"))
    assert files
    for f in files:
        report = check_path(str(f))
        assert report.ok, (f, report.errors)


@pytest.mark.slow
def test_kill_loop_then_clean_run_is_exactly_once(make_demo_site, tmp_path: Path) -> None:
    """6 SIGKILLs at random moments of an 800-article crawl, then a clean run."""
    site = make_demo_site(articles=800)
    article_urls = {site.urljoin(a.path) for a in site.articles}
    out = tmp_path / "coll"
    seed = int(os.environ.get("KILL_LOOP_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    leftovers: list[str] = []
    kills = 0
    for i in range(12):
        if kills == 6:
            break
        before = log_lines(out)
        proc = start(crawl_cmd(site.url, out, "--warc-max-size", "400000", "--quiet"))
        if i == 0 or rng.random() < 0.3:
            time.sleep(rng.uniform(0.5, 3.0))  # while starting: recovery, reconcile, imports
        else:
            # A full crawl writes ~850 lines: six of these kills land before its end.
            target = before + rng.randint(20, 120)
            wait_for(lambda p=proc, t=target: log_lines(out) >= t or p.poll() is not None, 60)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.communicate()
        # Children notice their parent's death: give them a moment on a loaded machine.
        wait_for(lambda p=proc: not session_members(p.pid), 20, poll=0.2)
        leftovers += session_members(proc.pid)
    assert kills == 6, f"only {kills} crawls were still running to be killed (seed {seed})"
    assert not leftovers, f"processes outlived the killed crawl (seed {seed}): {leftovers}"
    done = subprocess.run(crawl_cmd(site.url, out), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["outcome"] == "ok" and summary["failed"] == 0
    assert "Traceback" not in done.stderr
    assert_files_check(out)
    assert_exactly_once(out, article_urls)


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["starting", "fetching", "extracting"])
def test_ctrl_c_exits_130_cleanly_and_the_next_crawl_works(make_demo_site, tmp_path: Path,
                                                            moment: str) -> None:
    site = make_demo_site(articles=150)
    out = tmp_path / "coll"
    proc = start(crawl_cmd(site.url, out, "--quiet"))
    if moment == "starting":
        assert wait_for(lambda: (out / "state" / "crawl.lock").exists(), 60)
    else:
        lines = 20 if moment == "fetching" else 120
        assert wait_for(lambda: log_lines(out) >= lines, 120), "the crawl should be under way"
    os.killpg(proc.pid, signal.SIGINT)
    sent = time.monotonic()
    stdout, stderr = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 10, "a Ctrl-C must end the crawl within 10 s"
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr and "BrokenProcessPool" not in stderr
    assert not list((out / "warc").glob("*.open"))
    if stdout.strip():
        assert json.loads(stdout)["outcome"] == "interrupted"
    wait_for(lambda: not session_members(proc.pid), 20, poll=0.2)
    assert not session_members(proc.pid)
    again = subprocess.run(crawl_cmd(site.url, out), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert_files_check(out)
    assert_exactly_once(out, {site.urljoin(a.path) for a in site.articles})


@pytest.mark.slow
def test_sigterm_exits_143_and_a_second_signal_stops_at_once(make_demo_site,
                                                            tmp_path: Path) -> None:
    site = make_demo_site(articles=300)
    out = tmp_path / "coll"
    proc = start(crawl_cmd(site.url, out, "--quiet"))
    assert wait_for(lambda: log_lines(out) >= 100, 120)
    os.killpg(proc.pid, signal.SIGTERM)
    time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGTERM)
    sent = time.monotonic()
    _, stderr = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 10
    assert proc.returncode == 143, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-6000:]
    assert_files_check(out)  # only whole records, files closed


@pytest.mark.slow
def test_a_second_crawl_into_a_busy_folder_is_refused(make_demo_site, tmp_path: Path) -> None:
    # Slow pages: the first crawl must still run when the second one has started
    # (its start-up takes seconds) and when it is killed.
    site = make_demo_site(articles=300, latency=0.5)
    out = tmp_path / "coll"
    first = start(crawl_cmd(site.url, out, "--quiet"))
    try:
        assert wait_for(lambda: log_lines(out) >= 5, 120)
        t0 = time.monotonic()
        second = subprocess.run(crawl_cmd(site.url, out), capture_output=True, text=True,
                                timeout=60)
        # refused at once: it waits for nothing (its own start-up is most of this on a loaded machine)
        assert time.monotonic() - t0 < 30 and first.poll() is None
        assert second.returncode == 2
        (line,) = second.stderr.strip().splitlines()
        assert f"pid {first.pid}" in line and "started 20" in line
        assert not list((out / "warc").glob("*.open")) or first.poll() is None
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.communicate()
    # The killed crawl's lock is stale: the next crawl takes it over.
    assert list((out / "warc").glob("*.open")), "the kill should leave the open file"
    third = subprocess.run(crawl_cmd(site.url, out), capture_output=True, text=True, timeout=600)
    assert third.returncode == 0, third.stderr[-2000:]
    assert json.loads(third.stdout)["recovered_files"] >= 1


@pytest.mark.slow  # a crawl process
def test_an_unreachable_site_exits_1_and_logs_each_failure(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    out = tmp_path / "coll"
    done = subprocess.run(crawl_cmd(url, out, "--quiet"),
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    summary = json.loads(done.stdout)
    assert summary["outcome"] == "failed"
    assert summary["failures"].get("connect", 0) >= 1 and summary["failed"] >= 1
    lines = (out / "logs" / "crawl.log").read_text().splitlines()
    failed = [ln.split() for ln in lines if ln.split()[1] == "-2"]
    assert failed and all(f[6] == "connect" for f in failed)
    assert {f[3] for f in failed} >= {url}


@pytest.mark.slow  # a scheduler and its crawl process
def test_schedule_records_a_failed_run(tmp_path: Path) -> None:
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "gone.yaml").write_text(
        f"name: gone\nstart_urls: [http://127.0.0.1:{free_port()}/]\ndepth: 1\n")
    collections_dir = tmp_path / "collections"
    done = subprocess.run([BIN, "schedule", str(sites), "--collections", str(collections_dir),
                           "--once", "--poll", "0.2"], capture_output=True, text=True, timeout=180)
    assert done.returncode == 1, done.stderr[-2000:]
    runs = subprocess.run([BIN, "runs", "--collections", str(collections_dir), "--json"],
                          capture_output=True, text=True, timeout=60)
    (row,) = json.loads(runs.stdout)
    assert row["status"] == "failed" and row["exit_code"] == 1 and row["errors"] >= 1


@pytest.mark.slow  # a crawl process and moto
def test_a_missing_bucket_exits_3_before_any_page_is_requested(make_demo_site, s3_server: str,
                                                                tmp_path: Path) -> None:
    site = make_demo_site(articles=5)
    out = tmp_path / "coll"
    done = subprocess.run(
        crawl_cmd(site.url, out, "--store", "s3://no-such-bucket/news/coll",
                  "--endpoint-url", s3_server),
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 3, done.stderr[-2000:]
    (line,) = done.stderr.strip().splitlines()
    assert "no-such-bucket" in line and "does not exist" in line
    assert site.requests == [], "no page may be fetched before the store is known good"
