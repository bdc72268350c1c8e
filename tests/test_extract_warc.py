"""``newsarchive extract`` on WARC files, collections and an S3 collection.

Every sidecar is validated against the schema and its ``capture`` pointer is
read back with warcio at the offset it names.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import brotli
import pytest

from newsarchive.capture import records
from newsarchive.capture.writer import gzip_member
from newsarchive.cli.main import main
from newsarchive.demosite.site import SiteModel
from newsarchive.extract import validate
from newsarchive.fetch.exchange import Exchange
from newsarchive.store.keys import key_for
from tests.plugins.collection import NEWSARCHIVE
from tests.plugins.warcs import read_records

WHEN = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
PROFILE = 'application/json; profile="newsarchive.sidecar/1"'


def jsonl(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def record_at(warc: Path, offset: int, length: int) -> Any:
    """The one record in the gzip member at ``offset`` (read alone, as a replay would)."""
    with open(warc, "rb") as fh:
        fh.seek(offset)
        member = fh.read(length)
    rec = next(iter(read_records(io.BytesIO(member))))
    return rec.rec_type, rec.rec_headers, rec.content_stream().read()


def check_sidecars(sidecars: list[dict], warc: Path) -> None:
    """Valid sidecars whose capture names the page's own response record."""
    for sc in sidecars:
        validate(sc)
        cap = sc["capture"]
        assert cap["warc_filename"] == warc.name
        kind, head, _ = record_at(warc, cap["offset"], cap["length"])
        assert kind == "response" or (kind == "revisit" and cap.get("rendered"))
        assert head.get_header("WARC-Record-ID") == cap["record_id"]
        assert head.get_header("WARC-Target-URI") == sc["url"]
        assert head.get_header("WARC-Payload-Digest") == cap["payload_digest"]
        assert head.get_header("WARC-Date") == cap["fetched_at"]


def metadata_records(path: Path) -> list[tuple[Any, dict]]:
    out = []
    with open(path, "rb") as fh:
        types = []
        for rec in read_records(fh):
            types.append(rec.rec_type)
            if rec.rec_type == "metadata":
                out.append((rec.rec_headers, json.loads(rec.content_stream().read())))
    assert types[0] == "warcinfo" and set(types[1:]) <= {"metadata"}
    return out


def test_collection_gives_sidecars_pointing_at_their_records(
    demo_collection: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["extract", str(demo_collection), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    warcs = sorted((demo_collection / "warc").glob("*.warc.gz"))
    assert summary["files"] == len(warcs) and not summary["errors"]
    assert not list(out.glob("*.open"))
    total = 0
    for warc in warcs:
        stem = warc.name.removesuffix(".warc.gz")
        sidecars = jsonl(out / f"{stem}.sidecars.jsonl.gz")
        check_sidecars(sidecars, warc)
        assert all(sc["is_article"] for sc in sidecars)
        # The crawl wrote the same sidecars for the same records.
        crawled = {sc["capture"]["record_id"] for sc in jsonl(
            demo_collection / "sidecars" / f"{stem}.sidecars.jsonl.gz")}
        assert {sc["capture"]["record_id"] for sc in sidecars} == crawled
        meta = metadata_records(out / f"{stem}.sidecars.warc.gz")
        assert [body for _, body in meta] == sidecars
        for head, body in meta:
            assert head.get_header("Content-Type") == PROFILE
            assert head.get_header("WARC-Refers-To") == body["capture"]["record_id"]
            # our own scheme, so that no standard index takes it for the page
            assert head.get_header("WARC-Target-URI") == records.own_uri("sidecar", body["url"])
            assert head.get_header("WARC-Refers-To-Target-URI") == body["url"]
            assert head.get_header("WARC-Refers-To-Date") == body["capture"]["fetched_at"]
            assert head.get_header("WARC-Warcinfo-ID")
        total += len(sidecars)
    assert total == summary["sidecars"] > 10 and summary["not_articles"] >= 1


def test_all_pages_as_json_lines_on_stdout(
    demo_collection: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["extract", str(demo_collection / "warc"), "--out", "-", "--all",
                 "--quiet"]) == 0
    captured = capsysbinary.readouterr()
    lines = [json.loads(line) for line in captured.out.decode("utf-8").splitlines()]
    by_path = {sc["url"].split("/", 3)[3]: sc for sc in lines}
    assert by_path["about.html"]["is_article"] is False
    assert by_path[""]["is_article"] is False  # the home page is a front, not a story
    assert by_path["world/"]["is_article"] is False
    assert sum(sc["is_article"] for sc in lines) >= 10
    assert b"sidecars written" not in captured.out  # the summary goes to stderr
    assert b"HTML pages" in captured.err


def renamed(sidecars: list[dict], warc_name: str) -> list[dict]:
    return [{**sc, "capture": {**sc["capture"], "warc_filename": warc_name}} for sc in sidecars]


def test_damaged_warc_loses_only_the_damaged_pages_and_others_continue(
    demo_collection: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warc = sorted((demo_collection / "warc").glob("*.warc.gz"))[0]
    data = warc.read_bytes()
    # Damage in the middle of the member of a page halfway through the file.
    pages = sorted(sc["capture"]["offset"] for sc in jsonl(
        demo_collection / "sidecars" / warc.name.replace(".warc.gz", ".sidecars.jsonl.gz")))
    middle = pages[len(pages) // 2] + 40
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a-good.warc.gz").write_bytes(data)
    (inputs / "b-cut.warc.gz").write_bytes(data[:middle])  # killed mid-write
    (inputs / "c-corrupt.warc.gz").write_bytes(data[:middle] + b"\0" * 64 + data[middle + 64:])
    (inputs / "d-good.warc.gz").write_bytes(data)
    out = tmp_path / "out"
    code = main(["extract", str(inputs), "--out", str(out), "--jobs", "2", "--quiet"])
    assert code == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 2
    assert "b-cut.warc.gz" in errors[0] and "cut off" in errors[0]
    assert "c-corrupt.warc.gz" in errors[1] and f"offset {pages[len(pages) // 2]}" in errors[1]
    assert all(line.isprintable() for line in errors)
    full = jsonl(out / "a-good.sidecars.jsonl.gz")
    assert jsonl(out / "d-good.sidecars.jsonl.gz") == renamed(full, "d-good.warc.gz")
    # cut: the sidecars of the whole file's pages up to the cut
    partial = jsonl(out / "b-cut.sidecars.jsonl.gz")
    assert 0 < len(partial) < len(full)
    assert partial == renamed(full[: len(partial)], "b-cut.warc.gz")
    # corrupt member: reading resumes at the next whole member; only that page is lost
    whole = renamed(full, "c-corrupt.warc.gz")
    lost = [sc for sc in whole
            if sc["capture"]["offset"] <= middle < sc["capture"]["offset"] + sc["capture"]["length"]]
    assert len(lost) == 1
    resumed = jsonl(out / "c-corrupt.sidecars.jsonl.gz")
    assert resumed == [sc for sc in whole if sc not in lost]
    for name, sidecars in (("b-cut", partial), ("c-corrupt", resumed)):
        check_sidecars(sidecars, inputs / f"{name}.warc.gz")
        assert len(metadata_records(out / f"{name}.sidecars.warc.gz")) == len(sidecars)
    assert not list(out.glob("*.open"))


# -- a WARC written here: content encodings and a browser-rendered page ----------


def _response(url: str, body: bytes, headers: list[tuple[bytes, bytes]],
              status: int = 200) -> tuple[str, bytes]:
    ex = Exchange(url=url, method="GET", request_headers=[(b"User-Agent", b"test")],
                  status=status, response_headers=headers, body=body, fetched_at=WHEN)
    rid = records.new_record_id()
    return rid, records.response_record(ex, rid, records.sha1_digest(body))


def _article(site: SiteModel, template: str) -> tuple[str, bytes, dict]:
    article = next(a for a in site.articles if a.template == template)
    url = site.ctx.url(article.path)
    body = site.body(site.route(article.path))
    return url, body, site.expected_sidecar(url)


def test_encodings_and_rendered_dom(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = SiteModel("http://news.example", base_count=12, templates=("classic",))
    pages = [_article(site, "classic")]
    url, html, expected = pages[0]
    raws = [records.warcinfo_record("enc.warc.gz", {"software": "test"}, WHEN)]
    ids = {}
    for coding, encode in (("gzip", lambda b: gzip.compress(b, mtime=0)),
                           ("br", brotli.compress), ("deflate", zlib.compress)):
        page_url = f"{url}?{coding}"
        rid, raw = _response(page_url, encode(html), [
            (b"Content-Type", b"text/html; charset=utf-8"), (b"Content-Encoding", coding.encode())])
        ids[page_url] = rid
        raws.append(raw)
    # Rendered during the crawl: the response is a script shell, the story is in the
    # DOM resource record, written after the browser's other responses.
    shell = b"<html><head><title>Loading</title></head><body><div id=app></div>" \
            b"<script src=/app.js></script></body></html>"
    spa_url = url + "?spa"
    rid, raw = _response(spa_url, shell, [(b"Content-Type", b"text/html")])
    ids[spa_url] = rid
    raws.append(raw)
    raws.append(_response("http://news.example/app.js", b"render()",
                          [(b"Content-Type", b"application/javascript")])[1])
    raws.append(_response("http://news.example/gone.html", html,
                          [(b"Content-Type", b"text/html")], status=404)[1])
    raws.append(records.metadata_record(f"urn:dom:{spa_url}", rid, html,
                                        "text/html; charset=utf-8", WHEN, None, "resource"))
    # A second shell with the same bytes is archived as a revisit; its DOM refers to that.
    again_url = url + "?spa-again"
    again = Exchange(url=again_url, method="GET", request_headers=[], status=200,
                     response_headers=[(b"Content-Type", b"text/html")], body=shell,
                     fetched_at=WHEN)
    ids[again_url] = records.new_record_id()
    raws.append(records.revisit_record(again, ids[again_url], records.sha1_digest(shell),
                                       spa_url, records.warc_date(WHEN), rid))
    raws.append(records.metadata_record(f"urn:dom:{again_url}", ids[again_url], html,
                                        "text/html; charset=utf-8", WHEN, None, "resource"))
    warc = tmp_path / "enc.warc.gz"
    warc.write_bytes(b"".join(gzip_member(r, 6) for r in raws))

    assert main(["extract", str(warc), "--out", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["pages"] == 5 and summary["rendered"] == 2  # not the 404, not the script
    sidecars = {sc["url"]: sc for sc in jsonl(tmp_path / "enc.sidecars.jsonl.gz")}
    assert set(sidecars) == set(ids)
    check_sidecars(list(sidecars.values()), warc)
    for page_url, sc in sidecars.items():
        assert sc["capture"]["record_id"] == ids[page_url]
        assert sc["paragraphs"] == expected["paragraphs"]
        assert sc.get("rendered", False) is ("?spa" in page_url)
    assert sidecars[spa_url]["capture"]["rendered"] is True
    refs = {records.described_url(head.get_header("WARC-Target-URI")):
            head.get_header("WARC-Refers-To")
            for head, _ in metadata_records(tmp_path / "enc.sidecars.warc.gz")}
    assert refs == ids


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["extract", "{warc}"], "--out DIR"),
        (["extract", "{warc}", "--out", "-", "--json"], "use one of them"),
        (["extract", "{warc}", "--url", "http://x.example/", "--out", "x"], "--url"),
        (["extract", "{warc}", "{html}", "--out", "x"], "not both"),
        (["extract", "ftp://host/a.warc.gz", "--out", "x"], "s3:// URI"),
    ],
)
def test_warc_usage_mistakes_are_one_line_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = Path(__file__).parent / "data"
    argv = [a.format(warc=data / "warc" / "good.warc.gz", html=data / "extract" / "german.html")
            for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@pytest.mark.s3
def test_s3_collection(s3_server: str, s3_client: Any, s3_bucket: str,
                       demo_collection: Path, tmp_path: Path) -> None:
    for path in (demo_collection / "warc").iterdir():
        s3_client.upload_file(str(path), s3_bucket, f"crawls/demo/{key_for(path, 'warc')}")
    for path in (demo_collection / "sidecars").iterdir():  # must not be taken for input
        s3_client.upload_file(str(path), s3_bucket, f"crawls/demo/{key_for(path, 'sidecars')}")
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    done = subprocess.run(
        [*NEWSARCHIVE, "extract", f"s3://{s3_bucket}/crawls/demo", "--out", str(out),
         "--endpoint-url", s3_server, "--jobs", "2", "--json"],
        capture_output=True, text=True, timeout=180, env=env,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    warcs = sorted((demo_collection / "warc").glob("*.warc.gz"))
    assert summary["files"] == len(warcs) and summary["sidecars"] > 10
    for warc in warcs:
        stem = warc.name.removesuffix(".warc.gz")
        sidecars = jsonl(out / f"{stem}.sidecars.jsonl.gz")
        check_sidecars(sidecars, warc)  # offsets in the object are those of the file
        local = jsonl(demo_collection / "sidecars" / f"{stem}.sidecars.jsonl.gz")
        assert sorted(json.dumps(s["capture"], sort_keys=True) for s in sidecars) == sorted(
            json.dumps(s["capture"], sort_keys=True) for s in local)
    shutil.rmtree(out)
