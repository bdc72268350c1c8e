"""Articles of the demo site, one per template, pass the shared sidecar checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from newsarchive.extract import extract_sidecar, validate

CHECKER = Path(__file__).resolve().parents[2] / "shared" / "tools" / "check_sidecar.py"
site_module = pytest.importorskip("newsarchive.demosite.site")


def _one_article_per_template() -> list:
    site = site_module.SiteModel("http://demo.example", base_count=20)
    first: dict = {}
    for article in site.articles:
        first.setdefault(article.template, article)
    return [(site, a) for a in first.values()]


@pytest.mark.parametrize("site_article", _one_article_per_template(),
                         ids=lambda sa: sa[1].template)
def test_demo_article_passes_check_sidecar(site_article, tmp_path: Path) -> None:
    site, article = site_article
    if not CHECKER.exists():
        pytest.skip(f"{CHECKER} not present")
    url = site.ctx.url(article.path)
    route = site.route(article.path)
    sidecar = extract_sidecar(site.body(route), url, content_type=route.content_type)
    validate(sidecar)
    (tmp_path / "expected.json").write_text(json.dumps(site.expected_sidecar(url)))
    (tmp_path / "sidecar.json").write_text(json.dumps(sidecar))
    done = subprocess.run([sys.executable, str(CHECKER), str(tmp_path / "expected.json"),
                           str(tmp_path / "sidecar.json")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
