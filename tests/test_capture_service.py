"""The writer service: records on disk, revisits, rotation, the crawl log, full disks."""

from __future__ import annotations

import gzip
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsarchive.capture.check import check_path
from newsarchive.capture.naming import parse_warc_name
from newsarchive.capture.service import WarcWriterService, wait_written
from newsarchive.exceptions import StorageError
from newsarchive.fetch.exchange import Exchange
from tests.plugins.warcs import read_records as warc_records


def make_exchange(path: str, body: bytes, **kw: object) -> Exchange:
    return Exchange(
        url=f"http://news.example.com{path}",
        method="GET",
        request_headers=[(b"User-Agent", b"t")],
        status=200,
        response_headers=[(b"Content-Type", b"text/html")],
        body=body,
        fetched_at=datetime.now(UTC),
        **kw,  # type: ignore[arg-type]
    )


def read_records(folder: Path) -> list:
    """Type, headers and content of every record in the folder's WARC files."""
    out = []
    for f in sorted((folder / "warc").glob("*.warc.gz")):
        with open(f, "rb") as fh:
            for rec in warc_records(fh):
                out.append((rec.rec_type, dict(rec.rec_headers.headers), rec.content_stream().read()))
    return out


def test_identical_payload_becomes_revisit_even_in_a_later_crawl(tmp_path: Path) -> None:
    svc = WarcWriterService(tmp_path)
    first = svc.submit(make_exchange("/a.html", b"<p>same story</p>"))
    second = svc.submit(make_exchange("/b.html", b"<p>same story</p>"))
    svc.close()
    assert not first.revisit and second.revisit
    svc = WarcWriterService(tmp_path)  # the next crawl of the same collection
    third = svc.submit(make_exchange("/a.html", b"<p>same story</p>"))
    svc.close()
    assert third.revisit
    revisits = [h for t, h, _ in read_records(tmp_path) if t == "revisit"]
    assert len(revisits) == 2
    for h in revisits:
        assert h["WARC-Profile"].endswith("/revisit/identical-payload-digest")
        assert h["WARC-Refers-To"] == first.record_id
        assert h["WARC-Refers-To-Target-URI"] == "http://news.example.com/a.html"
        assert h["WARC-Refers-To-Date"]
        assert h["WARC-Payload-Digest"] == first.payload_digest


def test_records_pair_request_and_response_and_log_after_write(tmp_path: Path) -> None:
    svc = WarcWriterService(tmp_path, info={"operator": "Test Archive"})
    ticket = svc.submit(make_exchange("/x.html", b"body", ip_address="127.0.0.1"))
    assert wait_written(ticket)
    log = (tmp_path / "logs" / "crawl.log").read_text()
    assert ticket.record_id in log and ticket.location is not None
    assert f"{ticket.location.filename} {ticket.location.offset} response" in log
    svc.close()
    recs = read_records(tmp_path)
    assert [t for t, _, _ in recs] == ["warcinfo", "response", "request"]
    info, resp, req = (h for _, h, _ in recs)
    assert "operator: Test Archive" in recs[0][2].decode()
    assert resp["WARC-Target-URI"] == req["WARC-Target-URI"] == "http://news.example.com/x.html"
    assert req["WARC-Concurrent-To"] == resp["WARC-Record-ID"]
    assert resp["WARC-IP-Address"] == "127.0.0.1"
    assert resp["WARC-Block-Digest"].startswith("sha1:") and resp["WARC-Payload-Digest"]
    assert info["WARC-Filename"].endswith(".warc.gz")


def test_rotation_keeps_request_with_response_and_names_files_iipc_style(tmp_path: Path) -> None:
    svc = WarcWriterService(tmp_path, max_size=20_000, prefix="demo")
    for i in range(30):
        svc.submit(make_exchange(f"/p{i}.html", os.urandom(3000)))
    svc.close()
    files = sorted((tmp_path / "warc").glob("*.warc.gz"))
    assert len(files) > 3
    assert not list((tmp_path / "warc").glob("*.open"))
    serials = []
    for f in files:
        parts = parse_warc_name(f.name)
        assert parts is not None and parts["prefix"] == "demo"
        serials.append(int(parts["serial"]))
        report = check_path(str(f))
        assert report.ok, report.errors
        assert report.types["warcinfo"] == 1
        assert report.types["response"] == report.types["request"]
    assert serials == list(range(1, len(files) + 1))


def test_sidecar_goes_to_jsonl_and_to_a_metadata_record(tmp_path: Path) -> None:
    svc = WarcWriterService(tmp_path)
    ticket = svc.submit(make_exchange("/story.html", b"<p>story</p>"))
    svc.submit_sidecar(ticket.record_id, {"schema": "newsarchive.sidecar/1", "title": "T"})
    svc.close()
    (sidecar_file,) = (tmp_path / "sidecars").glob("*.sidecars.jsonl.gz")
    import json

    lines = [json.loads(x) for x in gzip.decompress(sidecar_file.read_bytes()).splitlines()]
    assert lines[0]["title"] == "T"
    assert lines[0]["capture"]["record_id"] == ticket.record_id
    assert lines[0]["capture"]["offset"] == ticket.location.offset  # type: ignore[union-attr]
    meta = [h for t, h, _ in read_records(tmp_path) if t == "metadata"]
    assert meta and meta[0]["WARC-Refers-To"] == ticket.record_id


@pytest.fixture
def tiny_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_stops_with_a_storage_error_and_leaves_valid_records(tiny_disk: Path) -> None:
    svc = WarcWriterService(tiny_disk, dedup=False)
    with pytest.raises(StorageError) as err:
        for i in range(200):
            svc.submit(make_exchange(f"/p{i}.html", os.urandom(4000)))
        svc.flush()
    assert "free some space" in str(err.value) or "No space" in str(err.value)
    with pytest.raises(StorageError):
        svc.close()
    written = (tiny_disk / "logs" / "crawl.log").read_text().splitlines()
    assert written
    # What was closed is whole, without any recovery, and holds every record
    # the log promised.
    assert not list((tiny_disk / "warc").glob("*.open"))
    files = list((tiny_disk / "warc").glob("*.warc.gz"))
    assert files
    for f in files:
        assert check_path(str(f)).ok
    ids = {h["WARC-Record-ID"] for t, h, _ in read_records(tiny_disk) if t == "response"}
    for line in written:
        assert line.split()[-1] in ids


def test_warcinfo_first_earliest_and_named_by_every_record(tmp_path: Path) -> None:
    from datetime import timedelta

    svc = WarcWriterService(tmp_path)
    early = make_exchange("/early.html", b"<p>fetched before the file opened</p>")
    early.fetched_at = datetime.now(UTC) - timedelta(seconds=5)
    ticket = svc.submit(early)
    svc.submit_sidecar(ticket.record_id, {"schema": "newsarchive.sidecar/1", "title": "T"})
    svc.submit_record("urn:dom:" + ticket.url, ticket.record_id, b"<html></html>",
                      "text/html", "resource")
    svc.close()
    recs = read_records(tmp_path)
    assert [t for t, _, _ in recs] == ["warcinfo", "response", "request", "metadata", "resource"]
    info = recs[0][1]
    assert info["WARC-Date"] == min(h["WARC-Date"] for _, h, _ in recs)
    assert all(h["WARC-Warcinfo-ID"] == info["WARC-Record-ID"] for _, h, _ in recs[1:])
    # every record counted, warcinfo and metadata too
    assert svc.stats.records == len(recs)
    meta, dom = recs[3][1], recs[4][1]
    assert meta["WARC-Target-URI"] == "urn:newsarchive:sidecar:" + ticket.url
    for head in (meta, dom):
        assert head["WARC-Refers-To"] == ticket.record_id
        assert head["WARC-Refers-To-Target-URI"] == ticket.url
        assert head["WARC-Refers-To-Date"] == recs[1][1]["WARC-Date"]
    assert dom["WARC-Concurrent-To"] == ticket.record_id
    for f in (tmp_path / "warc").glob("*.warc.gz"):
        report = check_path(str(f), strict=True)  # digests intact after the added header
        assert report.ok, report.errors
