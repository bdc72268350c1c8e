"""A collection in S3 (the moto server): export, query and replay read it in place."""

from __future__ import annotations

import io
import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from newsarchive.collection import Collection
from newsarchive.index.sidecars import iter_sidecars
from newsarchive.store.keys import key_for
from tests.plugins.collection import NEWSARCHIVE
from tests.plugins.warcs import read_records

pytestmark = pytest.mark.s3


def upload(client: Any, bucket: str, coll: Path, prefix: str) -> None:
    """Lay the collection out in the bucket the way the uploader does (plus the catalog)."""
    for sub, kind in (("warc", "warc"), ("sidecars", "sidecars"), ("indexes", "index")):
        for path in (coll / sub).iterdir():
            client.upload_file(str(path), bucket, f"{prefix}/{key_for(path, kind)}")
    for path in (coll / "catalog").rglob("*.parquet"):
        client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(coll).as_posix()}")


@pytest.fixture
def s3_collection(s3_client: Any, s3_bucket: str, demo_collection: Path) -> str:
    upload(s3_client, s3_bucket, demo_collection, "crawls/demo")
    return f"s3://{s3_bucket}/crawls/demo"


def run(s3_server: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL_S3": s3_server}
    return subprocess.run([*NEWSARCHIVE, *args], capture_output=True, text=True, timeout=180, env=env)


def test_export_and_query_read_the_bucket(s3_server: str, s3_collection: str, demo_collection: Path) -> None:
    local = run(s3_server, "export", str(demo_collection), "--quiet", "--fields", "url,title")
    remote = run(s3_server, "export", s3_collection, "--quiet", "--fields", "url,title")
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout and remote.stdout
    sql = "SELECT count(*) AS n, min(collection) AS c FROM catalog WHERE is_article"
    result = run(s3_server, "query", sql, s3_collection, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"n": len(local.stdout.splitlines()), "c": "demo"}]


def test_replay_serves_warcs_from_the_bucket(s3_server: str, s3_collection: str, demo_collection: Path) -> None:
    sc = next(s for uri in Collection.open(demo_collection).sidecar_files()
              for s in iter_sidecars(uri) if s["paragraphs"])
    env = {**os.environ, "AWS_ENDPOINT_URL_S3": s3_server}
    proc = subprocess.Popen([*NEWSARCHIVE, "replay", s3_collection, "--port", "0", "--admin-port",
                             "0", "--json"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["collection"] == "demo"
        with urllib.request.urlopen(f"{info['replay']}mp_/{sc['url']}", timeout=30) as resp:
            body = resp.read().decode("utf-8", "replace")
        assert sc["title"].split()[0] in body
        stamp = "".join(c for c in sc["capture"]["fetched_at"] if c.isdigit())[:14]
        with urllib.request.urlopen(f"{info['sidecars']}_record/demo/{stamp}/{sc['url']}") as resp:
            record = next(iter(read_records(io.BytesIO(resp.read()))))
        assert record.rec_headers.get_header("WARC-Record-ID") == sc["capture"]["record_id"]
    finally:
        proc.terminate()
        assert proc.wait(15) == 0


def test_api_reads_the_bucket_like_export(s3_server: str, s3_collection: str) -> None:
    import newsarchive

    remote = run(s3_server, "export", s3_collection, "--quiet", "--fields", "url,story_id")
    assert remote.returncode == 0, remote.stderr
    rows = [json.loads(line) for line in remote.stdout.splitlines()]
    coll = newsarchive.open(s3_collection, endpoint_url=s3_server)
    table = coll.articles(columns=["url", "story_id"])
    assert table.num_rows == len(rows) > 0
    assert table.to_pylist() == rows and all(r["story_id"] for r in rows)
    assert coll.captures().num_rows >= len(rows)
    dedupe = run(s3_server, "export", s3_collection, "--quiet", "--dedupe-stories", "--fields", "url")
    assert coll.articles(stories="dedupe").num_rows == len(dedupe.stdout.splitlines())
