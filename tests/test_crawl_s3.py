"""The demo crawl with ``--store s3://`` leaves in the bucket what a local run leaves on disk.

Talks HTTP to the moto S3 server of tests/plugins/s3.py through boto3 with an
endpoint URL, exactly as a user points newsarchive at MinIO.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.collection import replay_latest
from tests.plugins.s3 import bucket_objects
from tests.plugins.warcs import read_records

BIN = str(Path(sys.executable).with_name("newsarchive"))


def crawl(url: str, out: Path, *extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [BIN, "crawl", url, "--out", str(out), "--json", "--render", "never", *extra],
        capture_output=True, text=True, timeout=600, env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr
    # Components left off (no --store, no byte limit, --render never) stay silent:
    # an ordinary crawl prints no "Disabled ..." warnings.
    assert "WARNING" not in done.stderr, done.stderr
    return json.loads(done.stdout)


def captures(blobs: list[bytes]) -> set[tuple[str, str, str]]:
    out = set()
    for blob in blobs:
        for rec in read_records(io.BytesIO(blob)):
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
    # ... and what the next run needs (a disposable worker): state, crawl.log, run summaries
    assert kinds == {"warc", "sidecars", "indexes", "catalog", "state", "logs", "reports"}
    assert all(k.startswith("archive/demo/") for k in objects)
    local_dir = tmp_path / "local"
    by_kind = {
        kind: sorted(p for p in (local_dir / kind).rglob("*") if p.is_file())
        for kind in ("warc", "sidecars", "indexes", "catalog")
    }
    for kind, files in by_kind.items():
        assert len([k for k in objects if k.split("/")[2] == kind]) == len(files), kind
    assert {k.rsplit("/", 1)[-1] for k in objects if k.split("/")[2] == "state"} == {
        "crawl.sqlite", "dedup.sqlite", "stories.sqlite"}
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


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def replay_page(store: str, endpoint: str, url: str) -> str:
    """Serve ``store`` with ``newsarchive replay`` and fetch the archived ``url`` over HTTP."""
    return replay_latest(store, url, "--endpoint-url", endpoint)


@pytest.mark.s3
def test_store_alone_serves_query_export_and_replay_after_the_spool_is_gone(
    make_demo_site, s3_server: str, s3_client: Any, s3_bucket: str, tmp_path: Path
) -> None:
    site = make_demo_site(articles=12)
    store = f"s3://{s3_bucket}/archive/demo"
    spool = tmp_path / "spool"
    done = subprocess.run(
        [BIN, "crawl", site.url, "--out", str(spool), "--json", "--render", "never",
         "--store", store, "--endpoint-url", s3_server],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    objects = bucket_objects(s3_client, s3_bucket)
    parts = [k for k in objects if k.endswith(".parquet")]
    # Hive partitions straight under the collection, as DuckDB/Athena/Spark expect.
    assert parts and all(
        re.fullmatch(r"archive/demo/catalog/collection=demo/date=\d{4}-\d\d-\d\d/part-[^/]+\.parquet", k)
        for k in parts
    ), parts
    articles = [
        sc for k, v in objects.items() if k.endswith(".sidecars.jsonl.gz")
        for sc in map(json.loads, gzip.decompress(v).splitlines()) if sc.get("is_article") is not False
    ]
    assert len(articles) >= 5
    shutil.rmtree(spool)  # from here on, the bucket is all there is

    query = run_cli("query", "SELECT count(*) AS n, min(collection) AS c FROM catalog WHERE is_article",
                    store, "--endpoint-url", s3_server, "--json")
    assert json.loads(query.stdout) == [{"n": len(articles), "c": "demo"}]

    out = tmp_path / "articles.jsonl"
    run_cli("export", store, "--endpoint-url", s3_server, "--format", "jsonl", "--out", str(out),
            "--quiet")
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert sorted(r["url"] for r in rows) == sorted(sc["url"] for sc in articles)

    story = next(sc for sc in articles if sc.get("paragraphs"))
    body = replay_page(store, s3_server, story["url"])
    words = max(re.findall(r"[A-Za-z][A-Za-z ]+", story["paragraphs"][0]), key=len)
    assert len(words) > 20 and words in body  # the story text, served from the bucket


@pytest.mark.s3
def test_upload_verb_sends_the_catalog_so_the_bucket_answers_queries(
    demo_collection: Path, s3_server: str, s3_client: Any, s3_bucket: str, tmp_path: Path
) -> None:
    coll = tmp_path / "demo"
    shutil.copytree(demo_collection, coll)
    local_parts = sorted(p.relative_to(coll).as_posix() for p in (coll / "catalog").rglob("*.parquet"))
    sql = "SELECT count(*) AS n, count(DISTINCT url) AS urls FROM catalog WHERE is_article"
    expected = json.loads(run_cli("query", sql, str(coll), "--json").stdout)
    store = f"s3://{s3_bucket}/uploaded/demo"
    run_cli("upload", str(coll), "--store", store, "--endpoint-url", s3_server)
    keys = bucket_objects(s3_client, s3_bucket)
    assert sorted(k.removeprefix("uploaded/demo/") for k in keys if k.endswith(".parquet")) == local_parts
    assert not list(coll.rglob("*.parquet"))  # verified, so the local copies went
    shutil.rmtree(coll)
    remote = run_cli("query", sql, store, "--endpoint-url", s3_server, "--json")
    assert json.loads(remote.stdout) == expected and expected[0]["n"] > 0
