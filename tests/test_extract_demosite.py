"""Every page of the default demo site: articles pass the shared sidecar checks,
everything else (home, section fronts, 404, about) says it is no article."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from newsarchive.demosite import DemoSite
from newsarchive.extract import extract_sidecar, validate

CHECKER = Path(__file__).resolve().parent / "tools" / "check_sidecar.py"
NOT_ARTICLES = {"home", "section", "not_found", "page"}


@pytest.fixture(scope="module")
def checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_sidecar", CHECKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sidecar_of(site: DemoSite, path: str) -> dict[str, Any]:
    route = site.model.route(path)
    assert route is not None
    sidecar = extract_sidecar(site.model.body(route), site.urljoin(path),
                              content_type=route.content_type)
    validate(sidecar)
    return sidecar


@pytest.mark.slow  # extracts every demo article
def test_every_article_passes_check_sidecar(demo_site: DemoSite, checker: ModuleType,
                                            tmp_path: Path) -> None:
    pages = [p for p in demo_site.pages() if p.kind in ("article", "fixture")]
    templates = {demo_site.article(p.url).template for p in pages if p.kind == "article"}
    assert len(templates) >= 3 and len(pages) > 60
    failures = []
    for page in pages:
        (tmp_path / "expected.json").write_text(json.dumps(demo_site.expected_sidecar(page.url)))
        (tmp_path / "sidecar.json").write_text(json.dumps(sidecar_of(demo_site, page.path)))
        report = io.StringIO()
        with contextlib.redirect_stdout(report):
            code = checker.main(str(tmp_path / "expected.json"), str(tmp_path / "sidecar.json"))
        if code:
            fails = [line for line in report.getvalue().splitlines() if line.startswith("FAIL")]
            failures.append(f"{page.path}: {fails}")
    assert not failures, "\n".join(failures)


def test_divsoup_byline_with_timestamp_gives_names_only(demo_site: DemoSite) -> None:
    article = next(a for a in demo_site.articles
                   if a.template == "divsoup" and len(a.authors) > 1)
    sidecar = sidecar_of(demo_site, article.path)
    assert sidecar["authors"] == list(article.authors)


@pytest.mark.slow  # extracts every demo page
def test_every_other_page_is_not_an_article(demo_site: DemoSite) -> None:
    pages = [p for p in demo_site.pages()
             if p.kind in NOT_ARTICLES and p.content_type.startswith("text/html")]
    kinds = {p.kind for p in pages}
    assert kinds == NOT_ARTICLES and sum(p.kind == "section" for p in pages) >= 3
    claimed = [p.path for p in pages if sidecar_of(demo_site, p.path)["is_article"]]
    assert claimed == []
