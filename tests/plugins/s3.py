"""A real S3 server for the tests: moto's standalone server on 127.0.0.1.

Tests talk to it over HTTP with boto3 and ``endpoint_url``, exactly as a user
talks to MinIO; nothing in boto3 is patched. Credentials are dummies put in
the environment (and every other AWS configuration source is switched off),
so subprocesses such as ``newsarchive upload`` see the same server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.net import free_port, http_answers, stop, wait_until_up

#: what the fixture puts in the environment (and subprocesses inherit).
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Endpoint URL of a moto S3 server running for the whole session."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with pytest.MonkeyPatch.context() as mp:
        for name, value in S3_ENV.items():
            mp.setenv(name, value)
        for name in _UNSET:
            mp.delenv(name, raising=False)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=out, stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(http_answers(url + "/"), proc, "moto_server")
            yield url
        finally:
            stop(proc)


@pytest.fixture
def s3_client(s3_server: str) -> Any:
    """A plain boto3 client of the test server (what a user would have)."""
    import boto3

    return boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    """A new, empty bucket for one test."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


def bucket_objects(client: Any, bucket: str) -> dict[str, bytes]:
    """Every object of a bucket with its bytes (test buckets are small)."""
    out: dict[str, bytes] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return out


def make_collection(root: Path, warc_sizes: tuple[int, ...] = (11 << 20,), seed: int = 1
                    ) -> dict[str, bytes]:
    """A collection folder of closed files with IIPC-style names; returns path -> bytes.

    Random bytes stand in for WARC content: uploads must keep bytes, not meaning.
    A ``*.warc.gz.open`` file (still being written) is added and must never be sent.
    """
    import random

    rng = random.Random(seed)
    files: dict[str, bytes] = {}
    for serial, size in enumerate(warc_sizes):
        name = f"news-20260315101112{serial:03d}-{serial:05d}-host"
        files[f"warc/{name}.warc.gz"] = rng.randbytes(size)
        files[f"sidecars/{name}.sidecars.jsonl.gz"] = rng.randbytes(200_000 + serial)
        files[f"indexes/{name}.warc.gz.cdxj"] = rng.randbytes(30_000 + serial)
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "warc" / "news-20260315101199999-00099-host.warc.gz.open").write_bytes(b"partial")
    return files


def expected_key(rel: str) -> str:
    """The key ``rel`` (``warc/NAME``) must get: the date comes from the name."""
    folder, name = rel.split("/", 1)
    return f"{folder}/2026/03/15/{name}"
