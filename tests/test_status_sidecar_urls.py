"""``status`` and the crawl report count the fetched articles no sidecar holds without
holding the collection's URLs in memory (issue #19): the same count as a set would give."""

from __future__ import annotations

import gzip
import json
from contextlib import closing
from pathlib import Path

import pytest

from newsarchive.collection import Collection
from newsarchive.discover.state import CrawlState
from newsarchive.layout import Layout
from newsarchive.report.status import UrlSet, articles_without_sidecar, scan_sidecars


def write_sidecars(path: Path, sidecars: list[dict[str, object]], cut: bool = False) -> None:
    members = [gzip.compress(json.dumps(sc).encode() + b"\n") for sc in sidecars]
    if cut:  # a kill in the middle of the last member
        members[-1] = members[-1][:len(members[-1]) // 2]
    path.write_bytes(b"".join(members))


def fetched_articles(folder: Path, names: str) -> Layout:
    """A crawl state that saw ``http://news.example/NAME.html`` fetched (200) for each name."""
    layout = Layout(folder)
    state = CrawlState(layout.crawl_db)
    for name in names:
        state.record_fetch(f"http://news.example/{name}.html", kind="article", now=1.0,
                           status=200, digest="sha1:X")
    state.close()
    layout.sidecar_dir.mkdir(parents=True)
    return layout


def test_articles_without_sidecar_match_urls_canonical_forms_and_fetched_urls(
        tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    state = CrawlState(layout.crawl_db)
    fetched = {
        "http://news.example/a.html": None,  # its sidecar has the same URL
        "http://news.example/b.html": None,  # its sidecar names it with a tracking parameter
        "http://news.example/c.html": "http://news.example/c-old.html",  # fetched as another
        "http://news.example/d.html": None,  # canonical URL in its sidecar
        "http://news.example/e.html": None,  # in the cut-off .open file's last, lost member
        "http://news.example/f.html": None,  # no sidecar at all
    }
    for url, fetched_url in fetched.items():
        state.record_fetch(url, kind="article", now=1.0, status=200, digest="sha1:X",
                           fetched_url=fetched_url)
    state.record_fetch("http://news.example/gone.html", kind="article", now=1.0, status=404,
                       digest=None)
    state.record_fetch("http://news.example/", kind="front", now=1.0, status=200, digest=None)
    state.close()
    layout.sidecar_dir.mkdir(parents=True)
    write_sidecars(layout.sidecar_dir / "one.sidecars.jsonl.gz", [
        {"url": "http://news.example/a.html"},
        {"url": "http://news.example/b.html?utm_source=feed", "is_article": False},
    ])
    write_sidecars(layout.sidecar_dir / "two.sidecars.jsonl.gz.open", [
        {"url": "http://news.example/c-old.html"},
        {"url": "http://news.example/x.html", "canonical_url": "http://news.example/d.html"},
        {"url": "http://news.example/e.html"},
    ], cut=True)
    with closing(UrlSet()) as urls:
        assert scan_sidecars(tmp_path, urls) == 3  # b is not an article; e is cut off
        assert articles_without_sidecar(Collection.open(str(tmp_path),
                                                        must_have_warcs=False), urls) == 2
    assert articles_without_sidecar(Collection.open(str(tmp_path), must_have_warcs=False)) == 2


def test_a_crawl_report_reads_again_only_the_sidecar_files_that_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The count stays right as sidecar files are added, grow, close and go, while each
    report reads only the files that are new or changed (issue #19: not the collection)."""
    from newsarchive.report import sidecar_urls

    read: list[str] = []
    scan = sidecar_urls.scan_sidecar_file

    def counting(path: Path, urls: UrlSet) -> int:
        read.append(path.name)
        return scan(path, urls)

    monkeypatch.setattr(sidecar_urls, "scan_sidecar_file", counting)
    layout = fetched_articles(tmp_path, "abcd")
    one, two = layout.sidecar_dir / "one.sidecars.jsonl.gz", layout.sidecar_dir / "two.sidecars.jsonl.gz"
    opened = two.with_name(two.name + ".open")
    write_sidecars(one, [{"url": "http://news.example/a.html"}])
    write_sidecars(opened, [{"url": "http://news.example/b.html"}])

    def without() -> int | None:
        read.clear()
        return articles_without_sidecar(Collection.open(str(tmp_path), must_have_warcs=False))

    assert without() == 2 and sorted(read) == [one.name, opened.name]  # c and d
    assert (layout.state_dir / sidecar_urls.KEPT_NAME).is_file()
    assert without() == 2 and read == []  # nothing changed: nothing read
    write_sidecars(opened, [{"url": "http://news.example/b.html"},
                            {"url": "http://news.example/c.html"}])  # the crawl goes on
    assert without() == 1 and read == [opened.name]
    opened.rename(two)  # the crawl closes it
    assert without() == 1 and read == [two.name]
    one.unlink()  # a's sidecar is gone
    assert without() == 2 and read == []


def test_a_damaged_kept_url_file_is_read_around_and_made_anew(tmp_path: Path) -> None:
    layout = fetched_articles(tmp_path, "ab")
    write_sidecars(layout.sidecar_dir / "one.sidecars.jsonl.gz",
                   [{"url": "http://news.example/a.html"}])
    kept = layout.state_dir / "sidecar-urls.sqlite"
    kept.write_bytes(b"not a database, a disk error's leftovers" * 100)
    coll = Collection.open(str(tmp_path), must_have_warcs=False)
    assert articles_without_sidecar(coll) == 1  # every file read instead
    assert articles_without_sidecar(coll) == 1  # with the kept set made anew
    assert kept.read_bytes().startswith(b"SQLite format 3")
