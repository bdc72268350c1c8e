"""``extract`` and ``index`` with ``--shard K/N``: N shards together are one unsharded run.

A demo-site collection crawled with a small ``--warc-max-size`` (several WARC
files) is indexed and extracted once whole and once as three shards, each a
real ``newsarchive`` process as a batch job would run it; the outputs must be
the same files with the same contents.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from newsarchive.exceptions import ConfigError
from newsarchive.shard import Shard
from tests.plugins.collection import crawl
from tests.plugins.s3 import bucket_objects

BIN = str(Path(sys.executable).with_name("newsarchive"))
SHARDS = 3


def test_parse_and_split() -> None:
    assert Shard.parse("2/4") == Shard(2, 4)
    for bad in ("4/4", "-1/3", "1", "a/b", "0/0", "1/2/3"):
        with pytest.raises(ConfigError):
            Shard.parse(bad)
    names = [f"NA-2026113012{i:04d}-{i:05d}-host.warc.gz" for i in range(300)]
    shards = [Shard(k, SHARDS).select(names) for k in range(SHARDS)]
    assert sorted(n for s in shards for n in s) == sorted(names)  # each file exactly once
    assert all(len(s) > 50 for s in shards)  # and spread out
    # by name, wherever the file is
    assert Shard(1, SHARDS).holds("s3://b/c/warc/2026/11/30/" + shards[1][0])
    assert not Shard(0, SHARDS).holds("/data/c/warc/" + shards[1][0])


def run(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from newsarchive.demosite import DemoSite

    out = tmp_path_factory.mktemp("shard") / "demo"
    with DemoSite(articles=16) as site:
        crawl(site.url, out, "--render", "never", "--warc-max-size", "20000")
    assert len(list((out / "warc").glob("*.warc.gz"))) >= 2 * SHARDS
    return out


def catalog_rows(root: Path) -> list[dict[str, Any]]:
    rows = [r for p in sorted((root / "catalog").rglob("*.parquet"))
            for r in pq.read_table(p).to_pylist()]
    return sorted(rows, key=lambda r: (r["warc_filename"], r["warc_offset"]))


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_index_shards_combine_into_the_unsharded_catalog(collection: Path, tmp_path: Path) -> None:
    # the same collection name (the folder's): it is in the catalog's partition paths
    whole = shutil.copytree(collection, tmp_path / "whole" / "demo")
    sharded = shutil.copytree(collection, tmp_path / "sharded" / "demo")
    for folder in ("indexes", "catalog"):
        shutil.rmtree(sharded / folder)
    run("index", str(whole))
    counts = []
    for k in range(SHARDS):
        report = json.loads(run("index", str(sharded), "--shard", f"{k}/{SHARDS}", "--json").stdout)
        counts.append(report["warcs"])
    assert sum(counts) == len(list((collection / "warc").glob("*.warc.gz")))
    # Spread by file-name hash: two shards at least had work (a third may have none,
    # which is no error either).
    assert sum(1 for n in counts if n) >= 2
    assert files(sharded / "indexes") == files(whole / "indexes")
    rows = catalog_rows(whole)
    assert rows and catalog_rows(sharded) == rows
    assert sorted(files(sharded / "catalog")) == sorted(files(whole / "catalog"))


def sidecars(folder: Path) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for path in sorted(folder.glob("*.sidecars.jsonl.gz")):
        lines = [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
        for sc in lines:
            sc.get("extractor", {}).pop("seconds", None)  # a measured time
        out[path.name] = lines
    return out


@pytest.mark.slow
def test_extract_shards_write_what_one_run_writes(collection: Path, tmp_path: Path) -> None:
    run("extract", str(collection), "--out", str(tmp_path / "whole"), "--quiet")
    for k in range(SHARDS):
        run("extract", str(collection), "--out", str(tmp_path / "sharded"), "--quiet",
            "--shard", f"{k}/{SHARDS}")
    whole, sharded = sidecars(tmp_path / "whole"), sidecars(tmp_path / "sharded")
    assert whole and sharded == whole
    names = {p.name for p in (tmp_path / "whole").iterdir()}
    assert {p.name for p in (tmp_path / "sharded").iterdir()} == names


def test_bad_shard_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run([BIN, "index", str(tmp_path), "--shard", "3/3"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "0 <= K < N" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.s3
@pytest.mark.slow
def test_index_shards_of_an_s3_collection(
    collection: Path, s3_server: str, s3_client: Any, s3_bucket: str, tmp_path: Path
) -> None:
    store = f"s3://{s3_bucket}/archive/demo"
    for path in sorted((collection / "warc").glob("*.warc.gz")):  # the WARCs alone
        s3_client.upload_file(str(path), s3_bucket, f"archive/demo/warc/2026/11/30/{path.name}")
    for k in range(SHARDS):
        run("index", store, "--endpoint-url", s3_server, "--no-catalog", "--shard", f"{k}/{SHARDS}")
    stored = {key.rsplit("/", 1)[-1]: data for key, data in bucket_objects(s3_client, s3_bucket).items()
              if key.endswith(".cdxj")}
    whole = shutil.copytree(collection, tmp_path / "demo")
    run("index", str(whole), "--no-catalog")
    assert stored == files(whole / "indexes")  # every WARC indexed, by one shard only
