"""The S3 store and the reading helpers against a real S3 server (moto over HTTP)."""

from __future__ import annotations

import base64
import hashlib
import zlib
from pathlib import Path
from typing import Any

import pytest

from newsarchive.exceptions import StorageError, UserError
from newsarchive.store import list_inputs, open_input, read_range, store_for
from newsarchive.store.digest import hash_file

pytestmark = pytest.mark.s3

MiB = 1024 * 1024


def _file(tmp_path: Path, name: str, size: int, seed: int = 0) -> Path:
    import random

    path = tmp_path / name
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def test_multipart_put_is_verified_and_idempotent(
    tmp_path: Path, s3_server: str, s3_bucket: str, s3_client: Any
) -> None:
    path = _file(tmp_path, "a.warc.gz", 12 * MiB)
    store = store_for(f"s3://{s3_bucket}/arch/coll", endpoint_url=s3_server, part_size=5 * MiB)
    assert store.put(path, "warc/2026/03/15/a.warc.gz") == "uploaded"
    body = s3_client.get_object(Bucket=s3_bucket, Key="arch/coll/warc/2026/03/15/a.warc.gz")
    assert body["Body"].read() == path.read_bytes()
    info = store.head("warc/2026/03/15/a.warc.gz")
    assert info is not None and info.size == 12 * MiB
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    # S3's composite checksum: the CRC32 of the CRC32s of the 5 MiB parts it stores.
    data = path.read_bytes()
    parts = [zlib.crc32(data[i:i + 5 * MiB]).to_bytes(4, "big") for i in range(0, len(data), 5 * MiB)]
    assert info.checksum == base64.b64encode(
        zlib.crc32(b"".join(parts)).to_bytes(4, "big")).decode() + "-3"
    # Same bytes again: nothing is sent, nothing changes.
    assert store.put(path, "warc/2026/03/15/a.warc.gz") == "exists"
    assert list(store.list("warc/")) == ["warc/2026/03/15/a.warc.gz"]


def test_small_file_is_one_put_with_the_recorded_checksum(
    tmp_path: Path, s3_bucket: str, fault_proxy: Any
) -> None:
    path = _file(tmp_path, "s.sidecars.jsonl.gz", 300_000)
    store = store_for(f"s3://{s3_bucket}/c", endpoint_url=fault_proxy.url, part_size=5 * MiB)
    assert store.put(path, "sidecars/s.sidecars.jsonl.gz") == "uploaded"
    info = store.head("sidecars/s.sidecars.jsonl.gz")
    assert info is not None and info.checksum == hash_file(path).sha256_b64
    methods = [r[0] for r in fault_proxy.requests]
    after = methods[methods.index("PUT"):]
    assert methods.count("PUT") == 1 and "GET" not in after  # verified without a read-back


def test_put_never_overwrites_a_different_object(
    tmp_path: Path, s3_server: str, s3_bucket: str, s3_client: Any
) -> None:
    s3_client.put_object(Bucket=s3_bucket, Key="c/warc/x.warc.gz", Body=b"somebody else's")
    path = _file(tmp_path, "x.warc.gz", 1000)
    store = store_for(f"s3://{s3_bucket}/c", endpoint_url=s3_server)
    with pytest.raises(StorageError, match="already holds a different object.*refusing"):
        store.put(path, "warc/x.warc.gz")
    assert s3_client.get_object(Bucket=s3_bucket, Key="c/warc/x.warc.gz")["Body"].read() == (
        b"somebody else's"
    )


def test_reading_helpers_stream_list_and_range(
    tmp_path: Path, s3_server: str, s3_bucket: str, s3_client: Any, monkeypatch: Any
) -> None:
    data = _file(tmp_path, "r.warc.gz", 3 * MiB + 17).read_bytes()
    for key in ("p/c/warc/2026/03/15/r.warc.gz", "p/c/warc/2026/03/16/s.warc",
                "p/c/sidecars/2026/03/15/r.sidecars.jsonl.gz"):
        s3_client.put_object(Bucket=s3_bucket, Key=key, Body=data)
    uri = f"s3://{s3_bucket}/p/c/warc/2026/03/15/r.warc.gz"
    kw = {"endpoint_url": s3_server}

    with open_input(uri, **kw) as fh:
        chunks = iter(lambda: fh.read(65536), b"")
        assert hashlib.sha256(b"".join(chunks)).digest() == hashlib.sha256(data).digest()
    assert read_range(uri, 1_000_000, 4321, **kw) == data[1_000_000:1_004_321]
    assert list_inputs(f"s3://{s3_bucket}/p/c", **kw) == [
        uri, f"s3://{s3_bucket}/p/c/warc/2026/03/16/s.warc"
    ]
    assert list_inputs(uri, **kw) == [uri]
    with pytest.raises(UserError, match="no such object"):
        list_inputs(f"s3://{s3_bucket}/nothing-here", **kw)
    with pytest.raises(StorageError, match="past the end"):
        read_range(uri, len(data) + 10, 5, **kw)
    # boto3's own configuration is enough (no endpoint argument), as for `warc check`.
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    assert read_range(uri, 0, 10) == data[:10]


def test_ranged_read_fetches_only_the_range(
    tmp_path: Path, s3_server: str, s3_bucket: str, s3_client: Any, fault_proxy: Any
) -> None:
    data = _file(tmp_path, "big.warc.gz", 4 * MiB).read_bytes()
    s3_client.put_object(Bucket=s3_bucket, Key="big.warc.gz", Body=data)
    got = read_range(f"s3://{s3_bucket}/big.warc.gz", 2 * MiB, 100, endpoint_url=fault_proxy.url)
    assert got == data[2 * MiB:2 * MiB + 100]
    gets = [r for r in fault_proxy.requests if r[0] == "GET"]
    assert len(gets) == 1  # one ranged GET, not a download


def test_streaming_read_resumes_after_a_dropped_connection(
    tmp_path: Path, s3_server: str, s3_bucket: str, s3_client: Any, fault_proxy: Any
) -> None:
    data = _file(tmp_path, "s.warc.gz", 2 * MiB).read_bytes()
    s3_client.put_object(Bucket=s3_bucket, Key="s.warc.gz", Body=data)
    cut = fault_proxy.add("cut_response", method="GET")
    again = fault_proxy.add("slowdown", method="GET")  # and the resumed GET is throttled once
    with open_input(f"s3://{s3_bucket}/s.warc.gz", endpoint_url=fault_proxy.url) as fh:
        got = b"".join(iter(lambda: fh.read(65536), b""))
    assert got == data
    assert cut.hit.is_set() and again.hit.is_set()
    ranged = [r for r in fault_proxy.requests if r[0] == "GET" and r[3] == "ok"]
    assert len(ranged) == 1  # the one that finished was a ranged resume


def test_local_store_same_contract(tmp_path: Path) -> None:
    src = _file(tmp_path, "f.warc.gz", 100_000)
    store = store_for(str(tmp_path / "dest"))
    store.check()
    assert store.put(src, "warc/2026/03/15/f.warc.gz") == "uploaded"
    assert store.put(src, "warc/2026/03/15/f.warc.gz") == "exists"
    other = _file(tmp_path, "g.warc.gz", 100_000, seed=5)
    with pytest.raises(StorageError, match="different file"):
        store.put(other, "warc/2026/03/15/f.warc.gz")
    assert list(store.list()) == ["warc/2026/03/15/f.warc.gz"]
    assert store.read_range("warc/2026/03/15/f.warc.gz", 10, 5) == src.read_bytes()[10:15]
    assert read_range(tmp_path / "dest/warc/2026/03/15/f.warc.gz", 10, 5) == src.read_bytes()[10:15]
    assert list_inputs(tmp_path / "dest") == [str(tmp_path / "dest/warc/2026/03/15/f.warc.gz")]
    with pytest.raises(UserError, match="no such file"):
        open_input(tmp_path / "missing.warc.gz")
