"""Digests taken while writing: the WARC writer's hand-over and what the uploader does with it."""

from __future__ import annotations

import hashlib
import random
import sqlite3
import zlib
from pathlib import Path
from typing import Any

import pytest

from newsarchive.capture.writer import WarcFileSet
from newsarchive.exceptions import StorageError
from newsarchive.store import store_for
from newsarchive.store.digest import FileDigest, RunningDigest, hash_file
from newsarchive.store.uploader import Uploader, UploadOptions
from tests.plugins.s3 import bucket_objects, expected_key, make_collection

MiB = 1024 * 1024


def test_the_warc_writer_reports_the_digest_of_every_closed_file(tmp_path: Path) -> None:
    closed: list[tuple[Path, str, dict[str, Any]]] = []
    files = WarcFileSet(tmp_path, prefix="t", max_size=5000, digest=RunningDigest,
                        on_close=lambda path, kind, **digest: closed.append((path, kind, digest)))
    rng = random.Random(3)
    for i in range(20):  # several rotations (random bytes do not compress)
        files.write([f"WARC/1.1\r\nWARC-Record-ID: <urn:x:{i}>\r\n\r\n".encode()
                     + rng.randbytes(2000)])
        files.write_sidecar(b'{"n":%d}\n' % i)
    files.close()
    assert {kind for _, kind, _ in closed} == {"warc", "sidecars"} and len(closed) > 2
    for path, _kind, digest in closed:
        data = path.read_bytes()
        assert digest == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                          "crc32": zlib.crc32(data)}, path.name


def test_running_digest_equals_reading_the_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    running = RunningDigest()
    with path.open("wb") as fh:
        for n in range(5):
            block = bytes([n]) * (n * 70_001)
            fh.write(block)
            running.update(block)
    assert running.result() == hash_file(path)
    d = hash_file(path)
    assert d.matches_checksum(d.crc32_b64 or "") is True
    assert d.matches_checksum(d.sha256_b64) is True
    assert FileDigest(d.size, d.sha256, (d.crc32 or 0) ^ 1).matches_checksum(
        d.crc32_b64 or "") is False
    assert d.matches_checksum(d.sha256_b64 + "-3") is None  # composite: cannot tell
    assert FileDigest(d.size, d.sha256).matches_checksum(d.crc32_b64 or "") is None


@pytest.mark.s3
def test_the_writers_digest_is_recorded_and_a_file_that_differs_never_counts_as_stored(
    tmp_path: Path, s3_server: str, s3_bucket: str, s3_client: Any
) -> None:
    coll = tmp_path / "coll"
    files = make_collection(coll, warc_sizes=(6 * MiB, 200_000))
    warcs = sorted(rel for rel in files if rel.startswith("warc/"))
    options = UploadOptions(part_size=5 * MiB, retries=1, backoff=0.01)
    store = store_for(f"s3://{s3_bucket}/c", endpoint_url=s3_server, **options.store_options())
    truth = {rel: hash_file(coll / rel) for rel in warcs}
    # What the writer wrote (and digested) is not what is on disk now: one byte
    # rotted in each file after it closed.
    for rel in warcs:
        with (coll / rel).open("r+b") as fh:
            fh.seek(1000)
            byte = fh.read(1)
            fh.seek(1000)
            fh.write(bytes([byte[0] ^ 1]))
    with Uploader(coll, store, options) as uploader:
        for rel in warcs:
            uploader.enqueue(coll / rel, "warc", truth[rel])
        recorded = {rel: uploader.spool.get(rel) for rel in warcs}
        assert {rel: e.digest for rel, e in recorded.items() if e} == truth
        report = uploader.run()
    assert report.uploaded == 0 and report.pending == 2
    assert all((coll / rel).exists() for rel in warcs)
    assert not any("/warc/" in key for key in bucket_objects(s3_client, s3_bucket))
    assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []

    # Put the right bytes back: the same journal entries now upload and verify.
    for rel, data in files.items():
        if rel in warcs:
            (coll / rel).write_bytes(data)
    with Uploader(coll, store, options) as uploader:
        report = uploader.run()
    assert report.uploaded == 2 and report.pending == 0
    stored = bucket_objects(s3_client, s3_bucket)
    assert all(stored[f"c/{expected_key(rel)}"] == files[rel] for rel in warcs)


@pytest.mark.s3
def test_a_journal_of_the_previous_version_still_uploads(
    tmp_path: Path, s3_server: str, s3_bucket: str, s3_client: Any
) -> None:
    """Rows written before CRC32 was recorded (no crc32 column) get one from a re-read."""
    coll = tmp_path / "coll"
    files = make_collection(coll, warc_sizes=(6 * MiB,))
    warc = next(rel for rel in files if rel.startswith("warc/"))
    (coll / "state").mkdir(exist_ok=True)
    uri = f"s3://{s3_bucket}/old"
    with sqlite3.connect(coll / "state" / "uploads.sqlite") as db:
        db.execute(
            "CREATE TABLE uploads (store TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL,"
            " key TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, part_size INTEGER"
            " NOT NULL, parts BLOB NOT NULL, state TEXT NOT NULL DEFAULT 'pending', attempts"
            " INTEGER NOT NULL DEFAULT 0, last_error TEXT, queued_at REAL NOT NULL, stored_at"
            " REAL, PRIMARY KEY (store, path))")
        db.execute(
            "INSERT INTO uploads (store, path, kind, key, size, sha256, part_size, parts,"
            " queued_at) VALUES (?, ?, 'warc', ?, ?, ?, 5242880, ?, 0)",
            (uri, warc, expected_key(warc), len(files[warc]),
             hashlib.sha256(files[warc]).hexdigest(), bytes(64)))
    options = UploadOptions(part_size=5 * MiB)
    store = store_for(uri, endpoint_url=s3_server, **options.store_options())
    with Uploader(coll, store, options) as uploader:
        report = uploader.run()
    assert (report.uploaded, report.pending) == (1, 0)
    assert bucket_objects(s3_client, s3_bucket)[f"old/{expected_key(warc)}"] == files[warc]


@pytest.mark.s3
def test_an_object_already_there_is_verified_from_the_local_file_not_downloaded(
    tmp_path: Path, s3_bucket: str, fault_proxy: Any
) -> None:
    """A run killed after the upload, before verifying: the next one checks S3's composite
    CRC32 against the local file's parts (read at GB/s) instead of downloading the object."""
    path = tmp_path / "a.warc.gz"
    path.write_bytes(random.Random(5).randbytes(11 * MiB))
    store = store_for(f"s3://{s3_bucket}/c", endpoint_url=fault_proxy.url, part_size=5 * MiB)
    assert store.put(path, "warc/a.warc.gz", hash_file(path)) == "uploaded"
    fault_proxy.requests.clear()
    assert store.put(path, "warc/a.warc.gz", hash_file(path)) == "exists"
    assert {r[0] for r in fault_proxy.requests} == {"HEAD"}
    # Other bytes with the same size: not "exists" (and never overwritten).
    other = tmp_path / "b.warc.gz"
    other.write_bytes(random.Random(6).randbytes(11 * MiB))
    with pytest.raises(StorageError, match="different object"):
        store.put(other, "warc/a.warc.gz", hash_file(other))
