"""`newsarchive upload` failures: one line saying what to do, exit 3, spool kept, no secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from newsarchive.exceptions import StorageError
from newsarchive.store import store_for
from tests.plugins.s3 import free_port, make_collection

pytestmark = pytest.mark.s3

SECRET = "wJalrXUtnFEMI-very-secret-KEY"
KEY_ID = "AKIAEXAMPLEKEYID42"


def _upload(coll: Path, store: str, endpoint: str, *extra: str,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsarchive", "-vv", "upload", str(coll), "--store", store,
         "--endpoint-url", endpoint, *extra],
        capture_output=True, text=True, timeout=300, env=env,
        cwd=Path(__file__).parent.parent,
    )


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("newsarchive: error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (None, "bucket 'no-such-bucket-here' does not exist at http://127.0.0.1"),
        ("denied", "access denied to s3://no-such-bucket-here/coll (AccessDenied): allow"),
        ("expired", "S3 rejected the credentials for s3://no-such-bucket-here/coll "
                    "(ExpiredToken): refresh or fix them"),
        ("badkey", "S3 rejected the credentials"),
    ],
)
def test_store_errors_are_one_line_and_keep_the_spool(
    tmp_path: Path, fault_proxy: Any, fault: str | None, expected: str
) -> None:
    coll = tmp_path / "coll"
    files = make_collection(coll, warc_sizes=(1000,))
    if fault:
        fault_proxy.add(fault, count=100)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
    result = _upload(coll, "s3://no-such-bucket-here", fault_proxy.url, env=env)
    assert result.returncode == 3
    line = _error_line(result)
    assert expected in line
    assert "stay in the spool" in line
    assert all((coll / rel).exists() for rel in files)
    assert (coll / "state" / "uploads.sqlite").exists()  # SHA-256s recorded for next time
    assert SECRET not in result.stderr + result.stdout
    assert KEY_ID not in result.stderr + result.stdout  # not even from botocore's debug log


def test_wrong_endpoint(tmp_path: Path, s3_server: str) -> None:
    coll = tmp_path / "coll"
    make_collection(coll, warc_sizes=(1000,))
    result = _upload(coll, "s3://bucket/x", f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 3
    assert "cannot reach the S3 endpoint http://127.0.0.1:" in _error_line(result)
    assert "check --endpoint-url" in _error_line(result)


def test_missing_credentials(tmp_path: Path, s3_server: str) -> None:
    coll = tmp_path / "coll"
    make_collection(coll, warc_sizes=(1000,))
    env = {k: v for k, v in os.environ.items()
           if k not in {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}}
    result = _upload(coll, "s3://bucket/x", s3_server, env=env)
    assert result.returncode == 3
    assert "no usable S3 credentials" in _error_line(result)


def test_not_a_collection_folder(tmp_path: Path, s3_server: str) -> None:
    result = _upload(tmp_path, "s3://bucket/x", s3_server)
    assert result.returncode == 2
    assert "is not a collection folder" in _error_line(result)


def test_part_size_below_s3_minimum(tmp_path: Path, s3_server: str) -> None:
    coll = tmp_path / "coll"
    make_collection(coll, warc_sizes=(1000,))
    result = _upload(coll, "s3://bucket/x", s3_server, "--part-size", "4")
    assert result.returncode == 2
    assert "5 MiB" in _error_line(result)


def test_full_local_disk_is_a_one_line_error(tmp_path: Path) -> None:
    """A real full filesystem (a 1 MiB tmpfs; needs root to mount, else skipped)."""
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        src = tmp_path / "big.warc.gz"
        src.write_bytes(os.urandom(3 * 1024 * 1024))
        with pytest.raises(StorageError, match=r"local disk full at .*small.*free some space"):
            store_for(str(small)).put(src, "warc/big.warc.gz")
        assert list(small.rglob("*.part")) == []  # no half file left behind
    finally:
        subprocess.run(["umount", str(small)], check=False)


@pytest.mark.parametrize("verb", ["upload", "warc", "export"])
def test_a_malformed_endpoint_url_is_one_line_and_exit_2(tmp_path: Path, verb: str) -> None:
    coll = tmp_path / "coll"
    make_collection(coll, warc_sizes=(1000,))
    args = {"upload": ["upload", str(coll), "--store", "s3://b/coll"],
            "warc": ["warc", "check", "s3://b/coll"],
            "export": ["export", "s3://b/coll", "--format", "jsonl", "--out", "-"]}[verb]
    result = subprocess.run(
        [sys.executable, "-m", "newsarchive", *args, "--endpoint-url", "not a url"],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent.parent,
    )
    assert result.returncode == 2, result.stderr
    assert "is not an http:// or https:// URL" in _error_line(result)
