"""The durable uploader against a real S3 server, through a fault-injecting proxy."""

from __future__ import annotations

import base64
import hashlib
import zlib
from pathlib import Path
from typing import Any

import pytest

from newsarchive.exceptions import StorageError
from newsarchive.store import store_for
from newsarchive.store.spool import Spool
from newsarchive.store.uploader import Uploader, UploadOptions, collection_uri
from tests.plugins.s3 import bucket_objects, expected_key, make_collection

pytestmark = pytest.mark.s3

MiB = 1024 * 1024
FAST = UploadOptions(part_size=5 * MiB, concurrency=2, timeout=1.5, backoff=0.05, retries=3)


def _upload(collection: Path, uri: str, endpoint: str, options: UploadOptions = FAST,
            *, prescan: bool = True) -> Any:
    """Upload a folder: every file digested first, or (``prescan=False``) as
    ``newsarchive upload`` does, each digested while the previous one uploads."""
    store = store_for(collection_uri(uri, collection), endpoint_url=endpoint,
                      **options.store_options())
    with Uploader(collection, store, options) as uploader:
        if prescan:
            uploader.scan()
        return uploader.run(scan=not prescan)


@pytest.mark.parametrize("prescan", [True, False], ids=["digested-first", "digested-in-run"])
def test_every_file_arrives_byte_identical_despite_faults(
    tmp_path: Path, s3_bucket: str, s3_client: Any, fault_proxy: Any, prescan: bool
) -> None:
    # digested-in-run: the parts go up with the CRC32s the digest's read took;
    # a part damaged on the way is caught all the same.
    coll = tmp_path / "coll"
    files = make_collection(coll, warc_sizes=(11 * MiB, 6 * MiB))
    rules = [
        fault_proxy.add("error500", method="POST", query="uploads"),  # CreateMultipartUpload
        fault_proxy.add("slowdown", method="PUT", query="partNumber", count=2),
        fault_proxy.add("reset", method="PUT", query="partNumber", skip=1),
        fault_proxy.add("stall", method="PUT", query="partNumber", skip=1),
        fault_proxy.add("corrupt", method="PUT", query="partNumber", skip=1),
        fault_proxy.add("slowdown", method="POST", query="uploadId"),  # Complete
        fault_proxy.add("reset", method="PUT", path="sidecars"),  # a single PUT
        fault_proxy.add("error500", method="HEAD"),
    ]
    report = _upload(coll, f"s3://{s3_bucket}/arch/coll", fault_proxy.url, prescan=prescan)

    assert [r.fault for r in rules if not r.hit.is_set()] == []  # every fault happened
    assert (report.failed, report.pending, report.uploaded) == (0, 0, len(files))
    stored = bucket_objects(s3_client, s3_bucket)
    assert stored == {f"arch/coll/{expected_key(rel)}": data for rel, data in files.items()}
    assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    # Verified, so the local copies went; the file still being written did not move.
    assert not any((coll / rel).exists() for rel in files)
    assert (coll / "warc/news-20260315101199999-00099-host.warc.gz.open").exists()


def test_second_run_uploads_nothing_and_keep_local_keeps(
    tmp_path: Path, s3_server: str, s3_bucket: str, s3_client: Any
) -> None:
    coll = tmp_path / "coll"
    files = make_collection(coll, warc_sizes=(6 * MiB,))
    keep = UploadOptions(part_size=5 * MiB, keep_local=True)
    first = _upload(coll, f"s3://{s3_bucket}", s3_server, keep)
    again = _upload(coll, f"s3://{s3_bucket}", s3_server, keep)
    assert (first.uploaded, again.uploaded, again.existed) == (3, 0, 0)
    assert all((coll / rel).read_bytes() == data for rel, data in files.items())
    # A bare bucket gets the collection folder's name as prefix.
    assert sorted(bucket_objects(s3_client, s3_bucket)) == sorted(
        f"coll/{expected_key(rel)}" for rel in files
    )


def test_sha256_is_recorded_before_upload_and_failures_keep_the_spool(
    tmp_path: Path, s3_bucket: str, fault_proxy: Any
) -> None:
    coll = tmp_path / "coll"
    files = make_collection(coll, warc_sizes=(100_000,))
    fault_proxy.add("slowdown", method="PUT", count=1000)  # S3 throttles for good
    options = UploadOptions(part_size=5 * MiB, max_attempts=2, retries=1, backoff=0.01)
    report = _upload(coll, f"s3://{s3_bucket}/c", fault_proxy.url, options)
    assert report.failed == 1 and report.pending == 3
    assert "SlowDown" in report.errors[0]
    spool = Spool(coll, f"s3://{s3_bucket}/c")
    try:
        recorded = {e.path.relative_to(coll).as_posix(): e.digest.sha256
                    for e in spool.entries("pending")}
    finally:
        spool.close()
    assert recorded == {rel: hashlib.sha256(d).hexdigest() for rel, d in files.items()}
    assert all((coll / rel).exists() for rel in files)


def test_a_different_object_under_the_key_stops_the_upload(
    tmp_path: Path, s3_server: str, s3_bucket: str, s3_client: Any
) -> None:
    coll = tmp_path / "coll"
    files = make_collection(coll, warc_sizes=(100_000,))
    warc = next(rel for rel in files if rel.startswith("warc/"))
    s3_client.put_object(Bucket=s3_bucket, Key=f"c/{expected_key(warc)}", Body=b"other")
    with pytest.raises(StorageError, match="different object.*refusing to overwrite"):
        _upload(coll, f"s3://{s3_bucket}/c", s3_server)
    assert (coll / warc).exists()
    assert s3_client.get_object(Bucket=s3_bucket, Key=f"c/{expected_key(warc)}")[
        "Body"].read() == b"other"


def test_only_one_uploader_per_collection(tmp_path: Path, s3_server: str, s3_bucket: str) -> None:
    coll = tmp_path / "coll"
    make_collection(coll, warc_sizes=(1000,))
    store = store_for(f"s3://{s3_bucket}/c", endpoint_url=s3_server)
    with Uploader(coll, store), pytest.raises(StorageError, match="another upload"):
        Uploader(coll, store)


def test_collection_uri() -> None:
    assert collection_uri("s3://b", Path("/x/news")) == "s3://b/news"
    assert collection_uri("s3://b/arch/news/", Path("/x/y")) == "s3://b/arch/news"


def test_a_file_changed_after_its_sha256_was_recorded_is_never_marked_stored(
    tmp_path: Path, s3_server: str, s3_bucket: str, s3_client: Any
) -> None:
    """Parts that do not add up to the CRC32 recorded before the upload are never assembled."""
    coll = tmp_path / "coll"
    files = make_collection(coll, warc_sizes=(6 * MiB,))
    uri = f"s3://{s3_bucket}/c"
    options = UploadOptions(part_size=5 * MiB, retries=1, backoff=0.01)
    store = store_for(uri, endpoint_url=s3_server, **options.store_options())
    sent: list[str] = []
    store.client.meta.events.register(  # type: ignore[attr-defined]
        "before-send.s3", lambda request, **_: sent.append(request.method + " " + request.url))
    warc = coll / next(rel for rel in files if rel.startswith("warc/"))
    with Uploader(coll, store, options) as uploader:
        uploader.scan()
        with warc.open("r+b") as fh:  # bit rot after the digest was recorded
            fh.seek(100)
            fh.write(b"\x00" * 8)
        report = uploader.run()

    assert any("partNumber=" in r for r in sent)  # the parts went up (with their CRC32s)...
    assert not any(r.startswith("POST") and "uploadId=" in r for r in sent)  # ...never assembled
    assert report.failed == 1 and report.pending >= 1
    assert "do not add up to the CRC32 recorded" in report.errors[0]
    assert warc.exists()
    assert not any("warc/" in k for k in bucket_objects(s3_client, s3_bucket))
    assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_parts_go_up_with_the_crc32s_of_the_digest_and_a_file_changed_since_never_counts(
    tmp_path: Path, s3_server: str, s3_bucket: str, s3_client: Any
) -> None:
    """A file the uploader digests itself: its parts carry the CRC32s of that read.

    So S3 checks each part against the digested bytes; moto checks none, and
    the composite checksum after the completion catches the change: the
    object is removed, the failure counted, the file kept.
    """
    coll = tmp_path / "coll"
    files = make_collection(coll, warc_sizes=(11 * MiB,))
    warc = coll / next(rel for rel in files if rel.startswith("warc/"))
    options = UploadOptions(part_size=5 * MiB, retries=1, backoff=0.01)
    store = store_for(f"s3://{s3_bucket}/c", endpoint_url=s3_server, **options.store_options())
    sent: list[str] = []
    store.client.meta.events.register(  # type: ignore[attr-defined]
        "before-send.s3.UploadPart",
        lambda request, **_: sent.append(request.headers["x-amz-checksum-crc32"].decode()))
    with Uploader(coll, store, options) as uploader:
        entry = uploader.enqueue(warc, "warc")
        assert entry.digest.parts is not None
        recorded = [base64.b64encode(crc.to_bytes(4, "big")).decode()
                    for crc in entry.digest.parts.crc32s]
        assert recorded == [base64.b64encode(zlib.crc32(files[entry.path.relative_to(coll)
                            .as_posix()][i:i + 5 * MiB]).to_bytes(4, "big")).decode()
                            for i in range(0, 11 * MiB, 5 * MiB)]
        with warc.open("r+b") as fh:  # bit rot after the digest was taken
            fh.seek(6 * MiB)
            fh.write(b"\x00" * 8)
        assert uploader.upload(entry) is False
        uploader.finish()
        report = uploader.report

    assert sorted(sent) == sorted(recorded * 2)  # both attempts: the digest's CRC32s, not botocore's
    assert report.failed == 1 and report.pending == 1
    assert "did not match" in report.errors[0]
    assert warc.exists()
    assert not any("warc/" in k for k in bucket_objects(s3_client, s3_bucket))


def test_a_cut_create_multipart_reply_leaves_no_orphan_upload(
    tmp_path: Path, s3_bucket: str, s3_client: Any, fault_proxy: Any
) -> None:
    # The server creates the upload but its reply is lost: botocore retries and
    # creates a second one; the first id never reaches us.
    coll = tmp_path / "coll"
    files = make_collection(coll, warc_sizes=(11 * MiB,))
    rule = fault_proxy.add("cut_response", method="POST", query="uploads")
    report = _upload(coll, f"s3://{s3_bucket}/arch/coll", fault_proxy.url)

    assert rule.hit.is_set()
    assert (report.failed, report.pending, report.uploaded) == (0, 0, len(files))
    assert bucket_objects(s3_client, s3_bucket) == {
        f"arch/coll/{expected_key(rel)}": data for rel, data in files.items()}
    assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_a_run_sweeps_leftover_uploads_of_stored_keys_only(
    tmp_path: Path, s3_server: str, s3_bucket: str, s3_client: Any
) -> None:
    coll = tmp_path / "coll"
    make_collection(coll, warc_sizes=(6 * MiB,))
    _upload(coll, f"s3://{s3_bucket}/arch/coll", s3_server)
    stored_key = next(iter(bucket_objects(s3_client, s3_bucket)))
    # Two leftovers: one of a key already stored (a killed run's retry), one of a
    # key not stored yet (maybe another worker's upload under way).
    s3_client.create_multipart_upload(Bucket=s3_bucket, Key=stored_key)
    s3_client.create_multipart_upload(Bucket=s3_bucket, Key="arch/coll/warc/other.warc.gz")

    # moto dates every upload 2010-11-10, so the age rule would take both: set it aside.
    patient = UploadOptions(**{**FAST.__dict__, "stale_upload_age": 1e12})
    _upload(coll, f"s3://{s3_bucket}/arch/coll", s3_server, patient)  # the next run

    left = s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
    assert [u["Key"] for u in left] == ["arch/coll/warc/other.warc.gz"]
