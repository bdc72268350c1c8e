"""Bounded extraction: a time and a memory limit per page, and one page never stops a batch.

The hostile pages are real ones: 40,000 attributes on one ``<p>`` (about ten
seconds of work in lxml and justext, in C), a page whose tree outgrows the memory limit,
a control character that trafilatura refuses to put in its tree.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from newsarchive.capture import records
from newsarchive.capture.writer import gzip_member
from newsarchive.cli.main import main
from newsarchive.exceptions import ExtractionError
from newsarchive.extract import validate
from newsarchive.extract.bounded import BoundedExtractor, Limits, cut, extraction_error
from newsarchive.extract.pipeline import extract_page
from newsarchive.fetch.exchange import Exchange

pytestmark = pytest.mark.slow  # every test drives extraction worker processes

WHEN = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
STORY_WORDS = "The council voted on Tuesday to rebuild the harbour wall before winter. "


def story(title: str) -> bytes:
    paragraphs = "".join(f"<p>{STORY_WORDS * 4}({title} {i})</p>" for i in range(5))
    return (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"{paragraphs}</article></body></html>").encode()


def attribute_bomb(count: int = 40_000) -> bytes:
    attrs = " ".join(f'a{i}="v{i}"' for i in range(count))
    return (f"<html><head><title>Attributes</title></head><body><article><h1>Attributes</h1>"
            f"<p {attrs}>{STORY_WORDS}</p></article></body></html>").encode()


def tree_bomb() -> bytes:
    """4.8 MB of small elements: a tree of hundreds of MB once parsed."""
    return b"<html><body>" + b"<div><p>word word word</p></div>" * 150_000 + b"</body></html>"


CONTROL = (b"<html><head><title>Control</title></head><body><article><h1>Control</h1><p>"
           + STORY_WORDS.encode() * 4 + b" &#1; </p></article></body></html>")


#: MiB. The attribute bomb grows by progress, to about 64 MiB when it is done (10 s of
#: work here), so it meets the 4 s limit first; the tree bomb passes 64 MiB while lxml
#: parses it (half a second here), long before 4 s. At 48 MiB the attribute bomb could
#: meet either limit first on a quiet machine.
MEMORY_LIMIT = 64


@pytest.fixture(scope="module")
def bounded() -> Any:
    with BoundedExtractor(Limits(seconds=4, memory=MEMORY_LIMIT << 20)) as extractor:
        extractor.start()
        yield extractor


def test_a_page_over_the_time_limit_is_stopped_and_the_next_one_is_extracted(bounded: Any) -> None:
    bounded.extract(story("warm"), "http://news.example/warm")  # the worker is ready
    start = time.monotonic()
    sidecar = bounded.extract(attribute_bomb(), "http://news.example/bomb")
    elapsed = time.monotonic() - start
    assert elapsed < 4 + 3  # killed at the limit (extraction takes about 10 s here)
    validate(sidecar)
    assert extraction_error(sidecar) == "extraction took longer than 4 s (SIDECAR_TIME_LIMIT); stopped"
    assert sidecar["text"] == "" and sidecar["url"] == "http://news.example/bomb"
    after = bounded.extract(story("After"), "http://news.example/after")
    assert extraction_error(after) is None and "harbour wall" in after["text"]


def test_a_page_over_the_memory_limit_is_stopped(bounded: Any) -> None:
    sidecar = bounded.extract(tree_bomb(), "http://news.example/tree")
    validate(sidecar)
    assert "(SIDECAR_MEMORY_LIMIT)" in extraction_error(sidecar)
    after = bounded.extract(story("After"), "http://news.example/after")
    assert extraction_error(after) is None and after["is_article"] is True


def test_an_exception_in_the_extractor_is_the_page_error(bounded: Any) -> None:
    # A capture that is not a mapping makes the assembly stage raise (TypeError).
    sidecar = bounded.extract(story("Odd"), "http://news.example/odd", capture=["not", "a", "dict"])
    error = extraction_error(sidecar)
    assert error is not None and error.startswith(("TypeError", "AttributeError"))
    assert extraction_error(bounded.extract(story("Next"), "http://news.example/n")) is None


def test_a_control_character_page_gets_a_sidecar(bounded: Any) -> None:
    sidecar = bounded.extract(CONTROL, "http://news.example/control")
    validate(sidecar)
    error = extraction_error(sidecar)
    # trafilatura refuses "&#1;" in its tree (ValueError); an extractor that cleans it wins
    assert error is None or error.startswith("ValueError: All strings must be XML compatible")


def test_not_html_is_still_refused(bounded: Any) -> None:
    with pytest.raises(ExtractionError, match="not HTML"):
        bounded.extract(b"\x00\x01\x02" * 3000, "http://news.example/bin")


def test_a_worker_killed_between_pages_is_replaced(bounded: Any) -> None:
    bounded.extract(story("Before"), "http://news.example/before")
    os.kill(bounded._proc.pid, signal.SIGKILL)
    bounded._proc.wait()
    sidecar = bounded.extract(story("After kill"), "http://news.example/after-kill")
    assert extraction_error(sidecar) is None and "After kill" in sidecar["title"]


def test_pages_sent_ahead_get_their_own_sidecars_past_a_page_over_the_limit() -> None:
    """depth 2 (the crawl's): each caller's page is answered in its turn, also the page
    waiting in the pipe of a worker that a page over the time limit had killed."""
    pages = [(story(f"Page {i}"), f"http://news.example/{i}") for i in range(6)]
    pages.insert(2, (attribute_bomb(), "http://news.example/bomb"))
    results: dict[str, dict[str, Any]] = {}
    with BoundedExtractor(Limits(seconds=4, memory=MEMORY_LIMIT << 20), depth=2) as extractor:
        extractor.extract(story("warm"), "http://news.example/warm")

        def extract(body: bytes, url: str) -> None:
            results[url] = extractor.extract(body, url)

        with ThreadPoolExecutor(max_workers=2) as threads:
            for body, url in pages:
                threads.submit(extract, body, url)
        assert extractor.replaced == 1
    assert set(results) == {url for _, url in pages}
    for _, url in pages:
        if url.endswith("bomb"):
            assert "(SIDECAR_TIME_LIMIT)" in extraction_error(results[url])
        else:
            assert extraction_error(results[url]) is None
            assert results[url]["title"] == f"Page {url.rsplit('/', 1)[1]}"


def test_the_parsers_see_at_most_max_bytes() -> None:
    body = story("Long") + "<p>Fußnote über Zölle.</p>".encode() * 100_000
    short, was_cut = cut(body, 100_000)
    assert was_cut and len(short) <= 100_000 and short.endswith("Zölle.".encode())
    short.decode("utf-8")  # no character cut in two
    assert cut(b"x" * 200_000, 100_000) == (b"x" * 100_000, True)  # no tag near: at the limit
    assert cut(body, 0) == (body, False)
    with BoundedExtractor(Limits(max_bytes=100_000)) as extractor:
        sidecar = extractor.extract(body, "http://news.example/long")
    assert sidecar["extractor"]["truncated"] is True and "harbour wall" in sidecar["text"]
    validate(sidecar)


def test_the_crawl_pipeline_call_gives_error_sidecars() -> None:
    limits = Limits(seconds=3)
    sidecar, error = extract_page(attribute_bomb(), "http://news.example/bomb", "text/html",
                                  WHEN, limits)
    assert sidecar is not None and error == extraction_error(sidecar)
    assert "SIDECAR_TIME_LIMIT" in error
    sidecar, error = extract_page(story("Fine"), "http://news.example/fine", "text/html",
                                  WHEN, limits)
    assert error is None and sidecar is not None and sidecar["is_article"]
    assert extract_page(b"\x00\x01" * 4000, "http://news.example/bin", None, WHEN, limits)[0] is None


@pytest.mark.slow
def test_extract_folder_goes_on_past_hostile_pages(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "a-story.html").write_bytes(story("First story"))
    (pages / "b-attributes.html").write_bytes(attribute_bomb())
    (pages / "c-control.html").write_bytes(CONTROL)
    (pages / "d-tree.html").write_bytes(tree_bomb())
    (pages / "e-story.html").write_bytes(story("Last story"))
    out = tmp_path / "out"
    code = main(["extract", str(pages), "--out", str(out), "--time-limit", "4",
                 "--memory-limit", str(MEMORY_LIMIT)])
    err = capsys.readouterr().err
    assert code == 1
    sidecars = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert sorted(sidecars) == ["a-story", "b-attributes", "c-control", "d-tree", "e-story"]
    for sidecar in sidecars.values():
        validate(sidecar)
    assert "SIDECAR_TIME_LIMIT" in extraction_error(sidecars["b-attributes"])
    assert "SIDECAR_MEMORY_LIMIT" in extraction_error(sidecars["d-tree"])
    assert sidecars["e-story"]["title"] == "Last story" and sidecars["e-story"]["text"]
    assert "b-attributes.html: extraction took longer than 4 s" in err
    assert "written with extractor.error" in err


def _warc(path: Path, pages: list[tuple[str, bytes]]) -> None:
    with open(path, "wb") as fh:
        for url, body in pages:
            ex = Exchange(url=url, method="GET", request_headers=[(b"User-Agent", b"test")],
                          status=200, response_headers=[(b"Content-Type", b"text/html")],
                          body=body, fetched_at=WHEN)
            rid = records.new_record_id()
            fh.write(gzip_member(records.response_record(ex, rid, records.sha1_digest(body)), 6))


@pytest.mark.slow
def test_extract_warc_writes_error_sidecars_and_goes_on(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    warc = tmp_path / "in" / "hostile.warc.gz"
    warc.parent.mkdir()
    _warc(warc, [("http://news.example/a", story("First story")),
                 ("http://news.example/bomb", attribute_bomb()),
                 ("http://news.example/z", story("Last story"))])
    out = tmp_path / "out"
    code = main(["extract", str(warc), "--out", str(out), "--time-limit", "4", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1
    assert summary["sidecars"] == 2 and summary["failed_pages"] == 1
    assert summary["error_sidecars"] == 1
    with gzip.open(out / "hostile.sidecars.jsonl.gz", "rt") as fh:
        lines = [json.loads(line) for line in fh]
    assert [s["url"] for s in lines] == ["http://news.example/a", "http://news.example/bomb",
                                         "http://news.example/z"]
    assert "SIDECAR_TIME_LIMIT" in extraction_error(lines[1])
    assert lines[1]["capture"]["record_id"].startswith("<urn:uuid:")
    for sidecar in lines:
        validate(sidecar)


@pytest.mark.slow
def test_a_crawl_goes_on_past_a_page_over_the_time_limit(tmp_path: Path) -> None:
    import http.server
    import subprocess
    import sys
    import threading

    pages = {"/robots.txt": b"User-agent: *\nAllow: /\n",
             "/": b"<html><body><a href='/a.html'>a</a> <a href='/bomb.html'>b</a> "
                  b"<a href='/z.html'>z</a></body></html>",
             "/a.html": story("First story"), "/bomb.html": attribute_bomb(),
             "/z.html": story("Last story")}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = pages.get(self.path, b"not found")
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/plain" if self.path.endswith(".txt")
                             else "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = tmp_path / "coll"
        done = subprocess.run(
            [str(Path(sys.executable).with_name("newsarchive")), "crawl",
             f"http://127.0.0.1:{server.server_address[1]}/", "--out", str(out), "--json",
             "--render", "never", "-s", "SIDECAR_TIME_LIMIT=8"],
            capture_output=True, text=True, timeout=600, check=False)
    finally:
        server.shutdown()
        server.server_close()
    # The crawl goes on, and says a page failed: exit 1, outcome partial.
    assert done.returncode == 1, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["outcome"] == "partial" and summary["extraction_failed"] == 1
    lines = []
    for path in (out / "sidecars").glob("*.jsonl.gz"):
        with gzip.open(path, "rt") as fh:
            lines += [json.loads(line) for line in fh]
    by_path = {s["url"].rsplit("/", 1)[1]: s for s in lines}
    assert "SIDECAR_TIME_LIMIT" in extraction_error(by_path["bomb.html"])
    assert by_path["bomb.html"]["capture"]["record_id"].startswith("<urn:uuid:")
    assert by_path["a.html"]["is_article"] and by_path["z.html"]["is_article"]
    for sidecar in lines:
        validate(sidecar)
    log = (out / "logs" / "scrapy.log").read_text()
    assert "extraction failed on" in log and "'sidecar/errors': 1" in log


# -- workers forked from a warm template (extract --jobs N) ---------------------------


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as fh:
        stat = fh.read()
    return int(stat[stat.rfind(b")") + 2:].split()[1])


@pytest.fixture()
def template() -> Any:
    from newsarchive.extract.bounded import START_TIMEOUT
    from newsarchive.extract.forked import WorkerTemplate

    made = WorkerTemplate(START_TIMEOUT)
    made.start()
    yield made
    made.close()


def test_workers_forked_from_the_template_extract_side_by_side(template: Any) -> None:
    with BoundedExtractor(Limits(), template=template) as one, \
            BoundedExtractor(Limits(), template=template) as two:
        first = one.extract(story("One"), "http://news.example/one")
        second = two.extract(story("Two"), "http://news.example/two")
        assert first["title"] == "One" and second["title"] == "Two"
        assert extraction_error(first) is None and extraction_error(second) is None
        # forked from the warm template, not started from scratch
        assert parent_of(one._proc.pid) == parent_of(two._proc.pid) == template._proc.pid
        assert one._proc.pid != two._proc.pid
        with pytest.raises(ExtractionError, match="not HTML"):
            two.extract(b"\x00\x01\x02" * 3000, "http://news.example/bin")


def test_a_forked_worker_over_its_limits_or_killed_is_forked_again(template: Any) -> None:
    with BoundedExtractor(Limits(seconds=4, memory=MEMORY_LIMIT << 20), template=template) as bounded:
        bounded.extract(story("warm"), "http://news.example/warm")
        first = bounded._proc.pid
        sidecar = bounded.extract(attribute_bomb(), "http://news.example/bomb")
        assert "SIDECAR_TIME_LIMIT" in extraction_error(sidecar)
        assert "SIDECAR_MEMORY_LIMIT" in extraction_error(
            bounded.extract(tree_bomb(), "http://news.example/tree"))
        bounded.extract(story("Ready"), "http://news.example/ready")  # killed once it is ready
        os.kill(bounded._proc.pid, signal.SIGKILL)
        assert bounded._proc.wait(timeout=10) == -signal.SIGKILL  # the template reaped it
        after = bounded.extract(story("After"), "http://news.example/after")
        assert extraction_error(after) is None and after["title"] == "After"
        assert bounded.replaced == 2 and bounded._proc.pid != first  # the two over limits
        assert parent_of(bounded._proc.pid) == template._proc.pid


def test_workers_die_with_their_template_and_then_start_from_scratch(template: Any) -> None:
    with BoundedExtractor(Limits(), template=template) as bounded:
        bounded.extract(story("Before"), "http://news.example/before")
        worker = bounded._proc
        os.kill(template._proc.pid, signal.SIGKILL)
        assert worker.wait(timeout=10) == -signal.SIGKILL  # PR_SET_PDEATHSIG
        after = bounded.extract(story("After"), "http://news.example/after")
        assert extraction_error(after) is None and after["title"] == "After"
        assert parent_of(bounded._proc.pid) == os.getpid()
