"""Long rendered crawls stay bounded: 300 pages with tab, context and browser
recycling, blocked hosts, decoded bodies labelled; no Chromium left after the
crawl or after Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.render import ROOT, crawl_command, leftover, run_tagged, tagged_env
from tests.plugins.warcs import read_records

LONG = {
    "RENDER_MODE": "always",
    "RENDER_MAX_PAGES": 2,
    "RENDER_IDLE_MS": 50,
    "RENDER_TAB_PAGES": 25,
    "RENDER_CONTEXT_PAGES": 100,
    "RENDER_BROWSER_PAGES": 200,
    "RENDER_BLOCK_HOSTS": ["localhost"],
    "STATE_ENABLED": False,
    "SIDECAR_ENABLED": False,  # the extraction of 300 tiny pages is not under test here
    "PROGRESS_ENABLED": False,
}


def stat(out: Path, name: str) -> int:
    found = re.findall(rf"'{re.escape(name)}': (\d+)", (out / "logs" / "scrapy.log").read_text())
    return int(found[-1]) if found else 0


def wait_gone(tag: str, seconds: float = 10) -> list[str]:
    deadline = time.monotonic() + seconds
    while (left := leftover(tag)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.mark.slow
def test_300_rendered_pages_recycle_and_leave_no_chromium(make_spa_site: Any, tmp_path: Path) -> None:
    site = make_spa_site(300)
    result, tag = run_tagged(crawl_command(site.url, tmp_path, LONG), timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert wait_gone(tag) == []
    assert stat(tmp_path, "render/pages") == 301  # the pages and the index
    assert stat(tmp_path, "render/browser_launches") == 2  # relaunched after 200
    assert stat(tmp_path, "render/context_restarts") >= 1
    assert stat(tmp_path, "render/tabs") >= 300 // 25
    # blocked: the ad host never heard from the browser, and nothing of it is archived
    assert not [p for host, p, _ in site.log if host.startswith("localhost")]
    assert stat(tmp_path, "render/blocked") >= 300
    records = []
    for path in (tmp_path / "warc").glob("*.warc.gz"):
        with open(path, "rb") as f:
            records += [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"),
                         r.rec_headers.get_header("WARC-Newsarchive-Content-Decoded"),
                         r.http_headers, r.content_stream().read())
                        for r in read_records(f) if r.rec_type in ("response", "revisit")]
    archived = {url for _, url, *_ in records}
    asked = {site.url.rstrip("/") + p for _, p, ua in site.log if "HeadlessChrome" in ua}
    assert len(asked) >= 600 and asked - archived == set()
    assert not any("localhost" in url for url in archived)
    # app.js came gzipped: stored decoded, never labelled gzip, and said so
    app = [r for r in records if r[1].endswith("/app.js") and r[0] == "response"][0]
    assert app[2] == "gzip"
    assert app[3].get_header("Content-Encoding") is None
    assert app[4].startswith(b"fetch(")


def wait_rendered(site: Any, proc: subprocess.Popen[bytes], pages: int) -> None:
    """Wait (up to 120 s) until the site has served ``pages`` requests from Chromium."""
    deadline = time.monotonic() + 120
    while sum("HeadlessChrome" in ua for *_, ua in site.log) < pages:
        assert proc.poll() is None and time.monotonic() < deadline, "the crawl never rendered"
        time.sleep(0.1)


@pytest.mark.slow
def test_ctrl_c_mid_crawl_leaves_no_chromium(make_spa_site: Any, tmp_path: Path) -> None:
    site = make_spa_site(300)
    env, tag = tagged_env()
    # The graceful stop waits for the pages already handed to the downloader (each
    # rendered): on a loaded machine that can pass the default grace of 6 s.
    overrides = {**LONG, "CRAWL_STOP_GRACE": 120}
    proc = subprocess.Popen(crawl_command(site.url, tmp_path, overrides), env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_rendered(site, proc, 60)
        assert leftover(tag), "Chromium should be running mid-crawl"
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole process group
        proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert wait_gone(tag) == []
    assert 0 < stat(tmp_path, "render/pages") < 301  # it stopped part-way, cleanly
    assert json.loads(proc.stdout.read().decode())["finish_reason"] == "shutdown"


@pytest.mark.slow
def test_a_second_ctrl_c_stops_a_rendering_crawl_at_once_and_leaves_no_browser(
        make_spa_site: Any, tmp_path: Path) -> None:
    """A user who presses Ctrl-C twice gets the shell back at once, with no Chromium
    and no Playwright driver left behind (before this, only the graceful stop was tried)."""
    site = make_spa_site(300)
    env, tag = tagged_env()
    out = tmp_path / "coll"
    settings = [f"{name}={value}" for name, value in LONG.items() if not isinstance(value, list)]
    command = [str(Path(sys.executable).with_name("newsarchive")), "crawl", site.url, "--out",
               str(out), "--depth", "1", "--render", "always", "--json", "--no-report",
               *[arg for item in settings for arg in ("-s", item)]]
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_rendered(site, proc, 30)
        assert leftover(tag), "Chromium should be running mid-crawl"
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGINT)  # the second Ctrl-C: stop at once
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, proc.stderr.read().decode()[-2000:]
    assert wait_gone(tag) == []
    summary = json.loads(proc.stdout.read().decode())
    assert summary["interrupted_by"] == "SIGINT" and summary["stopped_at_once"] is True


@pytest.mark.slow
def test_a_stop_at_once_in_a_library_call_returns_and_leaves_no_browser(
        make_spa_site: Any, tmp_path: Path) -> None:
    """``run_crawl`` called from Python: when the grace period cuts a stop short, the
    call returns, the interpreter can exit and no Chromium is left (the reactor's
    thread pool and the browser were left running before)."""
    site = make_spa_site(300)
    env, tag = tagged_env()
    overrides = {**LONG, "CRAWL_STOP_GRACE": 0.2}
    proc = subprocess.Popen(crawl_command(site.url, tmp_path, overrides), env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_rendered(site, proc, 30)
        os.kill(proc.pid, signal.SIGINT)  # one signal, to the crawl alone
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, proc.stderr.read().decode()[-2000:]
    assert wait_gone(tag) == []
    summary = json.loads(proc.stdout.read().decode())
    assert summary["interrupted_by"] == "SIGINT" and summary["stopped_at_once"] is True
