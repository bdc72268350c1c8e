"""``newsarchive site new URL``: a starting site file from probing the demo site."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from newsarchive.demosite.server import DemoSite
from newsarchive.discover.probe import guess_pattern, site_name
from newsarchive.discover.site import load_site

NEWSARCHIVE = str(Path(sys.executable).with_name("newsarchive"))


@pytest.mark.slow  # CLI processes against the demo site
def test_site_new_probes_the_demo_site(tmp_path: Path) -> None:
    out = tmp_path / "sites" / "demo.yaml"
    with DemoSite(articles=12) as site:
        done = subprocess.run(
            [NEWSARCHIVE, "site", "new", site.url, "--out", str(out), "--contact", "me@example.org"],
            capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        paths = [r.path for r in site.requests]
        base = site.base_url
    assert done.stdout.startswith(f"wrote {out}")
    written = load_site(out)
    assert written.start_urls == (base + "/",)
    # robots.txt names the sitemap index and the Google News sitemap.
    assert set(written.sitemaps) == {base + "/sitemap.xml", base + "/news-sitemap.xml"}
    assert "Google News sitemap" in out.read_text()
    assert set(written.feeds) == {base + "/feed.xml", base + "/atom.xml"}
    assert {base + "/world/", base + "/business/", base + "/science/"} <= set(written.sections)
    assert written.article_patterns == (r"/\d{4}/\d{2}/\d{2}/",)
    assert written.contact == "me@example.org" and written.schedule
    # A probe is a few requests, not a crawl; the disallowed page is not one of them.
    assert len(paths) <= 12 and "/private/secret.html" not in paths
    # Not overwritten without --force.
    again = subprocess.run(
        [NEWSARCHIVE, "site", "new", "http://127.0.0.1:9/", "--out", str(out)],
        capture_output=True, text=True, timeout=60,
    )
    assert again.returncode == 2 and "exists" in again.stderr and again.stderr.count("\n") == 1


@pytest.mark.slow  # CLI processes
def test_site_new_on_an_unreachable_site_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave: nothing listens
    done = subprocess.run(
        [NEWSARCHIVE, "site", "new", f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "cannot reach" in done.stderr
    assert "Traceback" not in done.stderr


def test_guesses() -> None:
    urls = [f"https://n.example/world/2026/03/{d:02d}/story-{d}.html" for d in range(1, 9)]
    assert guess_pattern(urls, ["https://n.example/"]) == r"/\d{4}/\d{2}/\d{2}/"
    assert guess_pattern(["https://n.example/a-1234567"], []) == r"-\d{5,}(?:\.html?)?$"
    assert guess_pattern([], []) is None
    assert site_name("https://www.daily-planet.co.uk/") == "daily-planet"
