"""The upload extension inside a real Scrapy crawl (a subprocess; one reactor per process).

The spider plays the capture code: it writes closed files into the collection
folder and sends ``file_closed``, including one in its own ``spider_closed``
handler, which runs after the extension's (as the WARC writer's does). A WARC's
set is its WARC, sidecars, index and catalog part (which closes last).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.s3 import bucket_objects

pytestmark = pytest.mark.s3

SCRIPT = textwrap.dedent('''
    import asyncio, json, sqlite3, sys
    from pathlib import Path
    import scrapy
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from newsarchive import settings as defaults
    from newsarchive.signals import file_closed

    coll, store, endpoint = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    STAMP = "news-20260315101112000-{:05d}-host"

    def state(rel):
        if not (coll / "state" / "uploads.sqlite").exists():
            return None
        try:
            with sqlite3.connect(coll / "state" / "uploads.sqlite") as db:
                row = db.execute("SELECT state FROM uploads WHERE path = ?", (rel,)).fetchone()
        except sqlite3.OperationalError:  # the journal is being created
            return None
        return row and row[0]

    class Files(scrapy.Spider):
        name = "files"
        seen = {}

        def emit(self, rel, kind, size):
            path = coll / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(bytes([len(rel) % 251]) * size)
            self.crawler.signals.send_catch_log(file_closed, path=path, kind=kind)

        async def start(self):
            self.crawler.signals.connect(self.last_file, signal=signals.spider_closed)
            a, b = STAMP.format(0), STAMP.format(1)
            self.emit(f"warc/{a}.warc.gz", "warc", 6 << 20)
            self.emit(f"sidecars/{a}.sidecars.jsonl.gz", "sidecars", 1000)
            self.emit(f"indexes/{a}.cdxj", "index", 500)
            self.emit(f"warc/{b}.warc.gz", "warc", 2000)  # its index comes later
            set_a = (f"warc/{a}.warc.gz", f"sidecars/{a}.sidecars.jsonl.gz", f"indexes/{a}.cdxj")
            for _ in range(200):
                if all(state(rel) is not None and state(rel) != "pending" for rel in set_a):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            self.seen["stored set kept until its catalog part closes"] = all(
                (coll / rel).exists() and state(rel) == "stored" for rel in set_a)
            self.emit(f"catalog/collection=coll/date=2026-03-15/part-{a}.parquet", "catalog", 700)
            for _ in range(200):
                if state(f"warc/{a}.warc.gz") == "removed":
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            self.seen["complete set removed during the crawl"] = not any(
                (coll / rel).exists() for rel in (f"warc/{a}.warc.gz", f"indexes/{a}.cdxj",
                f"catalog/collection=coll/date=2026-03-15/part-{a}.parquet"))
            self.seen["incomplete set kept during the crawl"] = (coll / "warc" / f"{b}.warc.gz").exists()
            self.emit(f"indexes/{b}.cdxj", "index", 400)
            return
            yield

        def last_file(self, spider, reason):
            self.emit(f"warc/{STAMP.format(2)}.warc.gz", "warc", 3000)

    process = CrawlerProcess({
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "EXTENSIONS": {"newsarchive.store.extension.UploadExtension": 500},
        "LOG_LEVEL": "INFO",
        "WARC_DIR": str(coll),
        "INDEX_ENABLED": True,
        "INDEX_CATALOG": True,
        "SIDECAR_ENABLED": True,
        **{k: getattr(defaults, k) for k in dir(defaults) if k.startswith("STORE_")},
        "STORE_URI": store,
        "STORE_ENDPOINT_URL": endpoint,
        "STORE_PART_SIZE": 5 << 20,
    })
    crawler = process.create_crawler(Files)
    process.crawl(crawler)
    process.start()
    stats = {k: v for k, v in crawler.stats.get_stats().items() if k.startswith("store/")}
    print(json.dumps({"stats": stats, "seen": Files.seen}))
''')


def _crawl(tmp_path: Path, store: str, endpoint: str) -> tuple[dict[str, Any], str]:
    script = tmp_path / "crawl.py"
    script.write_text(SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "coll"), store, endpoint],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent.parent,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_crawl_uploads_closed_files_and_reports(
    tmp_path: Path, s3_server: str, s3_bucket: str, s3_client: Any
) -> None:
    out, log = _crawl(tmp_path, f"s3://{s3_bucket}/arch/news", s3_server)
    assert out["seen"] == {
        "stored set kept until its catalog part closes": True,
        "complete set removed during the crawl": True,
        "incomplete set kept during the crawl": True,
    }
    keys = sorted(bucket_objects(s3_client, s3_bucket))
    assert keys == [
        # catalog parts keep their partition folders (hive layout for query engines)
        "arch/news/catalog/collection=coll/date=2026-03-15/part-news-20260315101112000-00000-host.parquet",
        "arch/news/indexes/2026/03/15/news-20260315101112000-00000-host.cdxj",
        "arch/news/indexes/2026/03/15/news-20260315101112000-00001-host.cdxj",
        "arch/news/sidecars/2026/03/15/news-20260315101112000-00000-host.sidecars.jsonl.gz",
        "arch/news/warc/2026/03/15/news-20260315101112000-00000-host.warc.gz",
        "arch/news/warc/2026/03/15/news-20260315101112000-00001-host.warc.gz",
        "arch/news/warc/2026/03/15/news-20260315101112000-00002-host.warc.gz",
    ]
    stats = out["stats"]
    assert (stats["store/uploaded"], stats["store/failed"], stats["store/pending"]) == (7, 0, 0)
    assert stats["store/local_removed"] == 7
    assert not list((tmp_path / "coll").rglob("*.warc.gz"))


def test_crawl_with_a_missing_bucket_stops_with_one_line_and_keeps_files(
    tmp_path: Path, s3_server: str
) -> None:
    out, log = _crawl(tmp_path, "s3://no-such-bucket-for-crawl/x", s3_server)
    assert "bucket 'no-such-bucket-for-crawl' does not exist" in out["stats"]["store/error"]
    assert "Traceback" not in log
    assert "'finish_reason': 'store_error'" in log
    assert len(list((tmp_path / "coll").rglob("*.warc.gz"))) >= 1
