"""kill -9 of ``newsarchive upload`` at the worst moments, then a restart that finishes.

The proxy holds one request of the uploader (a part half sent, the next part
not yet sent, the multipart completion, the verification after the upload, a
single PUT) and the test kills the process right there. Between kills nothing
may be deleted locally; at the end the bucket holds exactly the expected
objects, each matching the SHA-256 the spool recorded before uploading.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.s3 import bucket_objects, expected_key, make_collection
from tests.plugins.s3_faults import wait_for

pytestmark = [pytest.mark.s3, pytest.mark.slow]

MiB = 1024 * 1024
FIRST = "news-20260315101112000-00000-host"


def _start(coll: Path, bucket: str, endpoint: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "newsarchive", "upload", str(coll), "--store",
         f"s3://{bucket}/arch/coll", "--endpoint-url", endpoint, "--part-size", "5",
         "--concurrency", "2", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).parent.parent,
    )


def _recorded(coll: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(coll / "state" / "uploads.sqlite") as db:
        return {p: (sha, state) for p, sha, state in
                db.execute("SELECT path, sha256, state FROM uploads")}


def test_kill_at_any_point_then_restart_finishes_exactly_once(
    tmp_path: Path, s3_bucket: str, s3_client: Any, fault_proxy: Any
) -> None:
    coll = tmp_path / "coll"
    files = make_collection(coll, warc_sizes=(16 * MiB, 11 * MiB))
    sha = {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}
    moments = [
        ("during a part", dict(fault="hang", method="PUT", query="partNumber", path=FIRST,
                               skip=1)),
        ("between parts", dict(fault="hang_before_body", method="PUT", query="partNumber",
                               path=FIRST, skip=2)),
        ("before completing", dict(fault="hang", method="POST", query="uploadId", path=FIRST)),
        ("after the upload, before the local delete",
         dict(fault="hang", method="HEAD", path=FIRST, skip=1)),
        ("during a single PUT", dict(fault="hang", method="PUT", path="sidecars")),
    ]
    for moment, rule in moments:
        hit = fault_proxy.add(**rule).hit
        proc = _start(coll, s3_bucket, fault_proxy.url)
        try:
            wait_for(hit, f"the uploader to reach {moment!r}")
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate()
        fault_proxy.clear()
        assert all((coll / rel).read_bytes() == data for rel, data in files.items()), moment
        recorded = _recorded(coll)
        assert {p: s for p, (s, _state) in recorded.items()} == sha, moment
        if moment.startswith("after the upload"):
            key = f"arch/coll/{expected_key(f'warc/{FIRST}.warc.gz')}"
            body = s3_client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
            assert body == files[f"warc/{FIRST}.warc.gz"]

    done = _start(coll, s3_bucket, fault_proxy.url)
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err.decode()
    stored = bucket_objects(s3_client, s3_bucket)
    assert {k: hashlib.sha256(v).hexdigest() for k, v in stored.items()} == {
        f"arch/coll/{expected_key(rel)}": digest for rel, digest in sha.items()
    }
    assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    assert not any((coll / rel).exists() for rel in files)
    assert {state for _sha, state in _recorded(coll).values()} == {"removed"}
    assert b'"pending": 0' in out
