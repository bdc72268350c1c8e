"""A crawl of the hostile server (tests/plugins/hostile.py), without and with the
browser: it ends within 5 minutes, the crawl's whole process tree stays under its
memory bound (sampled from /proc), every WARC is valid, and every case ends in
the summary -- archived (cut ones marked and counted), undecodable (counted),
failed (counted; the redirect loop too) or refused (the 8 KB URL) -- and, with
sidecars on, the articles among them have theirs."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from newsarchive.fetch.render import procs
from newsarchive.index.sidecars import iter_sidecars
from tests.plugins.hostile import HostileSite, case_url
from tests.plugins.render import leftover, tagged_env
from tests.plugins.warcs import read_records

ROOT = Path(__file__).resolve().parents[1]
GiB = 1024**3
LIMIT_S = 300

pytestmark = pytest.mark.slow


def crawl(site: HostileSite, out: Path, render: str) -> dict[str, Any]:
    """Run the CLI crawl, sampling its process tree's RSS; the summary, peak RSS, records."""
    env, tag = tagged_env()
    cmd = [sys.executable, "-m", "newsarchive", "crawl", site.url, "--out", str(out),
           "--render", render, "--json", "--quiet"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], procs.tree_rss(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stdout, stderr = proc.communicate(timeout=LIMIT_S + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
    elapsed = time.monotonic() - started
    sampler.join(5)
    responses: dict[str, Any] = {}
    for path in sorted((out / "warc").glob("*.warc.gz")):
        with open(path, "rb") as f:
            for rec in read_records(f):
                if rec.rec_type in ("response", "revisit"):
                    responses.setdefault(rec.rec_headers.get_header("WARC-Target-URI"), rec.rec_headers)
    return {"rc": proc.returncode, "stderr": stderr, "summary": json.loads(stdout) if stdout.strip() else {},
            "elapsed": elapsed, "peak": peak[0], "responses": responses, "tag": tag, "out": out}


def sidecar_urls(out: Path) -> dict[str, dict[str, Any]]:
    """The crawl's sidecars by URL."""
    return {sidecar["url"]: sidecar for path in sorted(out.rglob("*.sidecars.jsonl.gz"))
            for sidecar in iter_sidecars(str(path))}


def assert_bounded(got: dict[str, Any], memory: float) -> None:
    """Finished in time, under ``memory`` bytes of tree RSS, every WARC valid."""
    print(f"{got['elapsed']:.0f} s, peak tree RSS {got['peak'] / 2**20:.0f} MB, {got['summary']}")
    assert got["summary"], got["stderr"][-3000:]
    assert got["elapsed"] < LIMIT_S
    assert got["peak"] < memory
    check = subprocess.run([sys.executable, "-m", "newsarchive", "warc", "check", str(got["out"])],
                           capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert check.returncode == 0, check.stdout[-2000:]


def test_hostile_crawl_without_the_browser(hostile_site: HostileSite, tmp_path: Path) -> None:
    got = crawl(hostile_site, tmp_path, "never")
    assert_bounded(got, 1 * GiB)
    responses, summary = got["responses"], got["summary"]

    def truncated(path: str) -> str | None:
        return responses[case_url(hostile_site, path)].get_header("WARC-Truncated")

    assert truncated("/endless.html") == "length" and truncated("/huge.bin") == "length"
    assert truncated("/short.html") == "disconnect" and truncated("/never.html") == "time"
    assert summary["truncated"] == {"length": 2, "disconnect": 1, "time": 1}
    assert summary["undecodable"] == 2  # the bomb (inflates past the cap), the fake gzip
    for path in ("/bomb.html", "/gzip2.html", "/fakegzip.html", "/deep.html", "/script.html",
                 "/attrs.html", "/charset.html", "/cookies.html", "/oom.html", "/loop/0"):
        assert truncated(path) is None, path
    loop = [u for u in responses if "/loop/" in u]
    assert 1 < len(loop) <= 21  # the hops Scrapy followed (REDIRECT_MAX_TIMES), each archived
    # the loop is a failed fetch, the long link a refusal: counted, and each has its crawl.log line
    assert summary["failures"].get("redirects") == 1 and summary["outcome"] == "partial"
    assert summary["refused"].get("url_length") == 1
    crawl_log = (got["out"] / "logs" / "crawl.log").read_text()
    assert sum(" -4002 " in line and "/loop/" in line for line in crawl_log.splitlines()) == 1
    assert sum(" -7 " in line and "/long/" in line for line in crawl_log.splitlines()) == 1
    assert got["rc"] == 1
    sidecars = sidecar_urls(got["out"])
    for path in ("/gzip2.html", "/cookies.html", "/oom.html"):  # the articles archived whole
        assert sidecars[case_url(hostile_site, path)]["is_article"], path


def test_hostile_crawl_with_the_browser(hostile_site: HostileSite, tmp_path: Path) -> None:
    got = crawl(hostile_site, tmp_path, "always")
    assert_bounded(got, 2.5 * GiB)
    # pages the browser cannot finish are failures, counted; the others are archived
    log = (tmp_path / "logs" / "scrapy.log").read_text(errors="replace")
    failed = {p for p in ("/never.html", "/oom.html", "/loop/0", "/endless.html", "/bomb.html", "/short.html",
                          "/fakegzip.html", "/script.html")
              if f"rendering {case_url(hostile_site, p)}" in log}
    assert {"/never.html", "/oom.html", "/loop/0"} <= failed
    assert got["summary"]["errors"] == len(failed)
    for path in ("/gzip2.html", "/deep.html", "/attrs.html", "/charset.html", "/cookies.html"):
        assert case_url(hostile_site, path) in got["responses"], path
    assert got["summary"]["refused"].get("url_length") == 1
    sidecars = sidecar_urls(got["out"])
    for path in ("/gzip2.html", "/cookies.html"):
        assert sidecars[case_url(hostile_site, path)]["is_article"], path
    # not a page: Chromium would download it; fetched plainly instead, cut at the cap
    assert got["responses"][case_url(hostile_site, "/huge.bin")].get_header("WARC-Truncated") == "length"
    assert got["summary"]["truncated"].get("length") == 1
    assert leftover(got["tag"]) == []
