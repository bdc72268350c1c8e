"""``newsarchive extract --render``: a saved client-rendered page, as if served from its URL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.render import ROOT

pytestmark = pytest.mark.slow  # Chromium


def test_saved_page_is_rendered_as_if_served_from_its_url(make_spa_site: Any, tmp_path: Path) -> None:
    site = make_spa_site(3)
    # The page as a browser would save it before its script ran: relative script
    # and XHR URLs that only work when the page is loaded from its own address.
    saved = tmp_path / "story.html"
    saved.write_text('<html><head><title>Story 2</title><script src="/app.js" defer></script>'
                     '</head><body data-n="2"><div id="root"></div></body></html>')
    url = site.url + "saved/story-2.html"  # never served by the site: the file stands in
    result = subprocess.run(
        [sys.executable, "-m", "newsarchive", "extract", "--render", "--url", url, str(saved)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    sidecar = json.loads(result.stdout)
    assert sidecar["rendered"] is True and sidecar["url"] == url
    assert "The text of story 2." in sidecar["text"]
    assert "/story/2.json" in {p for _, p, _ in site.log}  # its script ran and fetched
    assert "/saved/story-2.html" not in {p for _, p, _ in site.log}  # the file was the page


def test_unreadable_saved_page_is_a_one_line_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "newsarchive", "extract", "--render", str(tmp_path / "gone.html")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "gone.html" in result.stderr
