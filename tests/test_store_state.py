"""A disposable worker: with ``--store``, a crawl on an empty spool carries on incrementally.

Two real ``newsarchive crawl --store s3://...`` processes against the moto S3
server of tests/plugins/s3.py and a demo site of our own; between them the
spool folder is deleted, as a new pod or machine would start. The server's
request log says what the second crawl fetched.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.s3 import bucket_objects

pytestmark = [pytest.mark.s3, pytest.mark.slow]  # two crawl processes

BIN = str(Path(sys.executable).with_name("newsarchive"))
ARTICLE = re.compile(r"/\d{4}/\d{2}/\d{2}/")


def crawl(site: Any, spool: Path, store: str, endpoint: str) -> tuple[dict[str, Any], Counter]:
    site.reset_log()
    done = subprocess.run(
        [BIN, "crawl", site.url, "--out", str(spool), "--json", "--render", "never",
         "--store", store, "--endpoint-url", endpoint],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), Counter(r.path for r in site.requests)


def test_empty_spool_restores_state_and_fetches_only_new_and_due(
    make_demo_site, s3_server: str, s3_client: Any, s3_bucket: str, tmp_path: Path
) -> None:
    site = make_demo_site(articles=12)
    store = f"s3://{s3_bucket}/archive/demo"
    spool = tmp_path / "spool"
    first, seen1 = crawl(site, spool, store, s3_server)
    day1 = {a.path for a in site.articles}
    assert day1 <= set(seen1)
    assert first["new_articles"] >= len(day1)  # (the site has an article page of its own too)
    keys = bucket_objects(s3_client, s3_bucket)
    run1 = first["run_id"]
    assert f"archive/demo/state/snapshots/{run1}/crawl.sqlite" in keys
    assert f"archive/demo/logs/crawl/{run1}.crawl.log" in keys
    assert f"archive/demo/reports/{run1}.json" in keys
    assert json.loads(keys[f"archive/demo/reports/{run1}.json"])["status"] != "running"

    shutil.rmtree(spool)  # the worker is gone; a new one starts with nothing
    site.set_day(2)
    new = {a.path for a in site.articles} - day1
    assert new
    second, seen2 = crawl(site, spool, store, s3_server)

    fetched_articles = {p for p in seen2 if ARTICLE.search(p)}
    # Only the new articles: day 1's are known (restored state) and not due yet.
    assert fetched_articles == new, sorted(fetched_articles ^ new)
    assert second["new_articles"] == len(new)
    assert "/" in seen2 and "/robots.txt" in seen2  # fronts are how new articles are found
    # The history came back with the state: both runs, and crawl.log of both.
    runs = sorted(p.stem for p in (spool / "reports").glob("*.json"))
    assert runs == sorted([run1, second["run_id"]])
    log = (spool / "logs" / "crawl.log").read_text()
    assert all(path in log for path in day1 | new)
    keys = bucket_objects(s3_client, s3_bucket)
    assert f"archive/demo/state/snapshots/{second['run_id']}/crawl.sqlite" in keys
    part2 = keys[f"archive/demo/logs/crawl/{second['run_id']}.crawl.log"].decode()
    # each run uploads only its own lines: none archives a day-1 article
    archived = [line.split()[3] for line in part2.splitlines() if not line.split()[1].startswith("-")]
    assert archived and not {u for u in archived if any(u.endswith(p) for p in day1)}, part2
