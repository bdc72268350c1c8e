"""``newsarchive extract --render --url URL FILE``: the saved file is the page at any URL.

Real Chromium; no network: the page's address is on a host that does not exist,
so only the file served in its place can make the story appear.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugins.render import ROOT

pytestmark = pytest.mark.slow

URL = "https://news.example.org/a.html"
STORY = ("The harbour council voted on Tuesday night to approve a new ferry pier at the "
         "old fish market, ending a debate that had divided the waterfront for two years.")
# Client-rendered: the story is only in the DOM once the script ran; the <title> is
# the placeholder such pages carry until their script replaces it; the page reads
# its own address (only right when the file is served at URL) and has no charset
# declared (the dash and the umlaut must still come through).
SAVED = f"""<!doctype html><html><head><title>Loading…</title></head>
<body><div id="root"></div><script>
var path = location.pathname;
var paras = ["{STORY}", "Jürgen Weber — the pier's architect — said work starts in spring.",
  "Served from " + location.host + path + ", the council's notice lists the 14 objections heard."];
document.getElementById('root').innerHTML = '<article><h1>Harbour council approves the ferry pier</h1>'
  + paras.map(function (p) {{ return '<p>' + p + ' ' + p + '</p>'; }}).join('') + '</article>';
</script></body></html>"""


def run_extract(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "newsarchive", "extract", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)


def test_saved_page_renders_at_a_url_of_any_host(tmp_path: Path) -> None:
    saved = tmp_path / "saved.html"
    saved.write_bytes(SAVED.encode("utf-8"))
    result = run_extract("--render", "--url", URL, str(saved))
    assert result.returncode == 0, result.stderr[-2000:]
    sidecar = json.loads(result.stdout)
    assert sidecar["rendered"] is True and sidecar["url"] == URL
    assert STORY in sidecar["text"]
    assert "Served from news.example.org/a.html" in sidecar["text"]
    assert "Jürgen Weber — the pier's architect" in sidecar["text"]
    # The placeholder <title> gives way to the headline.
    assert sidecar["title"] == "Harbour council approves the ferry pier"


def test_page_that_cannot_render_is_a_one_line_error(tmp_path: Path) -> None:
    saved = tmp_path / "away.html"
    saved.write_text("<html><body><p>Moved.</p><script>location.href = "
                     "'https://nowhere.invalid/story.html';</script></body></html>")
    result = run_extract("--render", "--url", URL, str(saved))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "away.html" in result.stderr and "cannot render" in result.stderr
