"""The demo crawl with ``--store s3://`` leaves in the bucket what a local run leaves on disk.

Talks HTTP to the moto S3 server of tests/plugins/s3.py through boto3 with an
endpoint URL, exactly as a user points newsarchive at MinIO.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.plugins.s3 import bucket_objects

BIN = str(Path(sys.executable).with_name("newsarchive"))


def crawl(url: str, out: Path, *extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [BIN, "crawl", url, "--out", str(out), "--json", "--render", "never", *extra],
        capture_output=True, text=True, timeout=600, env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def captures(blobs: list[bytes]) -> set[tuple[str, str, str]]:
    out = set()
    for blob in blobs:
        for rec in ArchiveIterator(io.BytesIO(blob)):
            if rec.rec_type in ("response", "revisit"):
                h = rec.rec_headers
                out.add((rec.rec_type, h.get_header("WARC-Target-URI").split("/", 3)[-1],
                         h.get_header("WARC-Payload-Digest")))
    return out


def sidecar_titles(blobs: list[bytes]) -> set[str]:
    return {json.loads(line)["title"] for b in blobs for line in gzip.decompress(b).splitlines()}


@pytest.mark.s3
def test_store_run_matches_local_run_and_checks_from_s3(
    make_demo_site, s3_server: str, s3_client: Any, s3_bucket: str, tmp_path: Path
) -> None:
    site = make_demo_site(articles=12)
    local = crawl(site.url, tmp_path / "local")
    stored = crawl(
        site.url, tmp_path / "spool",
        "--store", f"s3://{s3_bucket}/archive/demo", "--endpoint-url", s3_server,
    )
    assert stored["error"] is None and stored["stored"] >= 3
    objects = bucket_objects(s3_client, s3_bucket)
    kinds = {k.split("/")[2] for k in objects}
    assert kinds == {"warc", "sidecars", "indexes"}
    assert all(k.startswith("archive/demo/") for k in objects)
    local_dir = tmp_path / "local"
    by_kind = {
        kind: sorted(p for p in (local_dir / kind).iterdir() if p.is_file())
        for kind in ("warc", "sidecars", "indexes")
    }
    for kind, files in by_kind.items():
        assert len([k for k in objects if k.split("/")[2] == kind]) == len(files), kind
    remote_warcs = [v for k, v in objects.items() if k.endswith(".warc.gz")]
    assert captures(remote_warcs) == captures([p.read_bytes() for p in by_kind["warc"]])
    remote_sidecars = [v for k, v in objects.items() if k.endswith(".sidecars.jsonl.gz")]
    assert sidecar_titles(remote_sidecars) == sidecar_titles(
        [p.read_bytes() for p in by_kind["sidecars"]]
    )
    # Verified uploads leave no local copy behind (the spool is empty of WARCs).
    assert not list((tmp_path / "spool" / "warc").glob("*.warc.gz"))
    check = subprocess.run(
        [BIN, "warc", "check", f"s3://{s3_bucket}/archive/demo", "--endpoint-url", s3_server],
        capture_output=True, text=True, timeout=300,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert " ok" in check.stdout
    assert local["pages"] == stored["pages"]
