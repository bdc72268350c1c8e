"""Bodies cut by the size cap, the timeout or a disconnect are archived with
``WARC-Truncated``; large bodies are streamed into their record; a body that
does not decode is archived as sent and counted (a crawl of the hostile server
with small caps, no browser)."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.hostile import BODIES, HostileSite, case_url
from tests.plugins.render import crawl_command, run_tagged
from tests.plugins.warcs import read_records

ROOT = Path(__file__).resolve().parents[1]
CAP = 2 * 1024 * 1024
TIMEOUT = 6

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def crawl(hostile_site: HostileSite, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp_path = tmp_path_factory.mktemp("bodies")
    overrides = {
        "RENDER_MODE": "never", "SIDECAR_ENABLED": False, "DOWNLOAD_MAXSIZE": CAP,
        "DOWNLOAD_TIMEOUT": TIMEOUT, "FETCH_SPOOL_MEMORY": 256 * 1024, "RETRY_ENABLED": False,
    }
    result, _ = run_tagged(crawl_command(case_url(hostile_site, BODIES), tmp_path, overrides), timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    responses: dict[str, tuple[Any, Any, bytes]] = {}
    for path in sorted((tmp_path / "warc").glob("*.warc.gz")):
        with open(path, "rb") as f:
            for rec in read_records(f):
                if rec.rec_type == "response":
                    url = rec.rec_headers.get_header("WARC-Target-URI")
                    responses[url] = (rec.rec_headers, rec.http_headers, rec.raw_stream.read())
    return {"out": tmp_path, "summary": summary, "responses": responses,
            "log": (tmp_path / "logs" / "scrapy.log").read_text(errors="replace")}


def test_cut_bodies_are_archived_with_warc_truncated(crawl: dict[str, Any], hostile_site: HostileSite) -> None:
    got = crawl["responses"]

    def truncated(path: str) -> tuple[str | None, bytes]:
        warc, _, body = got[case_url(hostile_site, path)]
        return warc.get_header("WARC-Truncated"), body

    reason, body = truncated("/endless.html")  # chunked, never ends: cut at the cap
    assert reason == "length" and len(body) == CAP and body.startswith(b"<!doctype html>")
    reason, body = truncated("/huge.bin")  # 2 GB announced: the first CAP bytes, streamed from disk
    assert reason == "length" and body == bytes(range(256)) * (CAP // 256)
    reason, body = truncated("/short.html")  # disconnect before the announced length
    assert reason == "disconnect" and body.endswith(b"</html>")
    reason, body = truncated("/never.html")  # trickles past DOWNLOAD_TIMEOUT
    assert reason == "time" and body.startswith(b"<!doctype html>")
    # whole bodies are not marked
    assert truncated("/gzip2.html")[0] is None and truncated("/cookies.html")[0] is None
    # counted: endless, huge, and the bomb's and the big script's bodies (over CAP too)
    assert crawl["summary"]["truncated"] == {"length": 4, "time": 1, "disconnect": 1}


def test_every_warc_is_valid(crawl: dict[str, Any]) -> None:
    check = subprocess.run(
        [sys.executable, "-m", "newsarchive", "warc", "check", str(crawl["out"])],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]


def test_undecodable_body_is_archived_as_sent_and_counted(crawl: dict[str, Any], hostile_site: HostileSite) -> None:
    _, http, body = crawl["responses"][case_url(hostile_site, "/fakegzip.html")]
    assert http.get_header("Content-Encoding") == "gzip" and body.startswith(b"<!doctype html>")
    assert crawl["summary"]["undecodable"] >= 1
    # gzip, gzip decodes (Scrapy undoes both) and is stored as sent
    _, http, body = crawl["responses"][case_url(hostile_site, "/gzip2.html")]
    assert gzip.decompress(gzip.decompress(body)).startswith(b"<!doctype html>")
    assert tracebacks(crawl["log"]) == []


def test_a_hundred_cookies_are_archived(crawl: dict[str, Any], hostile_site: HostileSite) -> None:
    _, http, _ = crawl["responses"][case_url(hostile_site, "/cookies.html")]
    assert len([v for k, v in http.headers if k.lower() == "set-cookie"]) == 100


def tracebacks(log: str) -> list[str]:
    """Log entries with a traceback, but tldextract's (it tries to download the public
    suffix list; the egress work bundles it)."""
    entries = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d )", log)
    return [e[:300] for e in entries if "Traceback" in e and "[tldextract]" not in e.split("\n", 1)[0]]
