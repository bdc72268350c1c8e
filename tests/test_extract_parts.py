"""``extract --jobs``: a WARC read in parts gives the pages of one whole read, in order.

The reader is checked on a WARC written here with every case a cut can split:
a rendered page's DOM records after its response (with other records between),
a DOM alone, DOMs of revisits, a DOM that comes too late, pages that are not
pages; every cut point of the file gives the same pages. Then ``extract
--jobs 2`` on a WARC it cuts writes the same sidecar files as ``--jobs 1``.
"""

from __future__ import annotations

import gzip
import io
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from newsarchive.capture import records
from newsarchive.capture.exchange import Exchange
from newsarchive.capture.writer import gzip_member
from newsarchive.cli.main import main
from newsarchive.demosite.site import SiteModel
from newsarchive.extract import runner
from newsarchive.extract.archive import PageReader, lead_records
from tests.plugins.warcs import read_records

WHEN = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
WINDOW = 5


def _exchange(url: str, body: bytes, status: int = 200, kind: bytes = b"text/html") -> Exchange:
    return Exchange(url=url, method="GET", request_headers=[(b"User-Agent", b"test")],
                    status=status, response_headers=[(b"Content-Type", kind)], body=body,
                    fetched_at=WHEN)


def _html(n: int) -> bytes:
    return f"<html><head><title>Page {n}</title></head><body><p>Story {n}.</p></body></html>".encode()


def mixed_warc(seed: int = 7, pages: int = 60) -> bytes:
    """Records of every kind a cut may split, in a random but fixed order."""
    rng = random.Random(seed)
    raws = [records.warcinfo_record("mixed.warc.gz", {"software": "test"}, WHEN)]
    pending: list[tuple[int, bytes]] = []  # (records to wait, DOM record) for rendered pages
    earlier: list[tuple[str, bytes]] = []  # (record id, body) of shells, for revisits
    for n in range(pages):
        url = f"http://news.example/{n}.html"
        roll = rng.random()
        rid = records.new_record_id()
        if roll < 0.1:  # not a page: a script, a 404
            raws.append(records.response_record(_exchange(url, b"x()", kind=b"text/javascript"),
                                                rid, records.sha1_digest(b"x()")))
        elif roll < 0.15:
            raws.append(records.response_record(_exchange(url, _html(n), 404), rid,
                                                records.sha1_digest(_html(n))))
        elif roll < 0.25 and earlier:  # a revisit of an earlier shell, and its DOM
            first_id, body = rng.choice(earlier)
            raws.append(records.revisit_record(_exchange(url, body), rid,
                                               records.sha1_digest(body), url,
                                               records.warc_date(WHEN), first_id))
            pending.append((rng.randrange(0, WINDOW), records.metadata_record(
                f"urn:dom:{url}", rid, _html(n), "text/html", WHEN, None, "resource")))
        elif roll < 0.3:  # a DOM without its response
            raws.append(records.metadata_record(f"urn:dom:{url}", rid, _html(n), "text/html",
                                                WHEN, None, "resource"))
        else:
            body = _html(n) if roll < 0.6 else b"<html><body><div id=app></div></body></html>"
            raws.append(records.response_record(_exchange(url, body), rid,
                                                records.sha1_digest(body)))
            earlier.append((rid, body))
            if roll >= 0.6:  # rendered: its DOM comes later, sometimes too late
                wait = rng.randrange(0, 3 * WINDOW)
                pending.append((wait, records.metadata_record(
                    f"urn:dom:{url}", rid, _html(n), "text/html", WHEN, None, "resource")))
        still = []
        for wait, dom in pending:
            if wait <= 0:
                raws.append(dom)
            else:
                still.append((wait - 1, dom))
        pending = still
    raws.extend(dom for _, dom in pending)
    return b"".join(gzip_member(r, 6) for r in raws)


def member_offsets(data: bytes) -> list[int]:
    from newsarchive.capture.gzmembers import iter_members

    return [m.offset for m in iter_members(io.BytesIO(data))]


def pages_of(data: bytes, part: tuple[int, int] | None = None,
             start: int = 0) -> tuple[list[tuple[Any, ...]], tuple[int, ...]]:
    stream = io.BytesIO(data)
    stream.seek(start)
    reader = PageReader(stream, "mixed.warc.gz", window_records=WINDOW, part=part, start=start)
    pages = [(p.url, p.body, json.dumps(p.capture, sort_keys=True), p.refers_to) for p in reader]
    s = reader.stats
    return pages, (s.records, s.pages, s.rendered, s.skipped)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_parts_give_the_pages_of_one_whole_read(seed: int) -> None:
    data = mixed_warc(seed)
    whole, stats = pages_of(data)
    offsets = member_offsets(data)
    assert len(whole) > 30 and stats[2] > 5  # pages, rendered ones among them
    lead = lead_records(WINDOW)
    for cut in range(1, len(offsets)):  # every place one cut can fall
        joined: list[tuple[Any, ...]] = []
        totals = [0, 0, 0, 0]
        for first, end in ((0, cut), (cut, len(offsets))):
            back = min(first, lead)
            got, counts = pages_of(data, (back, end - first), offsets[first - back])
            joined += got
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
        assert joined == whole, f"cut before record {cut}"
        assert tuple(totals) == stats


def _demo_warc(path: Path, copies: int) -> int:
    """A WARC of demo-site articles (each page ``copies`` times, under its own URL)."""
    site = SiteModel("http://news.example", base_count=12, templates=("classic", "divsoup"))
    raws = [records.warcinfo_record(path.name, {"software": "test"}, WHEN)]
    for k in range(copies):
        for article in site.articles:
            body = site.body(site.route(article.path))
            url = site.ctx.url(article.path) + f"?copy={k}"
            raws.append(records.response_record(_exchange(url, body), records.new_record_id(),
                                                records.sha1_digest(body)))
    path.write_bytes(b"".join(gzip_member(r, 6) for r in raws))
    return len(raws)


def _outputs(folder: Path) -> tuple[bytes, list[tuple[str | None, str | None, bytes]]]:
    with gzip.open(folder / "demo.sidecars.jsonl.gz", "rb") as fh:
        lines = fh.read()
    with open(folder / "demo.sidecars.warc.gz", "rb") as fh:
        recs = [(r.rec_type, r.rec_headers.get_header("WARC-Refers-To"),
                 r.content_stream().read()) for r in read_records(fh)]
    return lines, recs


@pytest.mark.slow
def test_jobs_2_cuts_a_warc_and_writes_what_jobs_1_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    warc = tmp_path / "demo.warc.gz"
    count = _demo_warc(warc, copies=2)
    monkeypatch.setattr(runner, "SPLIT_BYTES", 0)
    monkeypatch.setattr(runner, "MIN_PART_RECORDS", 4)
    cut = runner.cut_file(str(warc), 2)
    assert cut is not None and len(cut.parts) >= 3
    assert sum(p.owned for p in cut.parts) == count
    summaries = []
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}"
        assert main(["extract", str(warc), "--out", str(out), "--jobs", str(jobs),
                     "--json", "--quiet"]) == 0
        summary = json.loads(capsys.readouterr().out)
        summaries.append({k: v for k, v in summary.items()
                          if k not in ("seconds", "records_per_second", "out", "outputs")})
        assert sorted(p.name for p in out.iterdir()) == ["demo.sidecars.jsonl.gz",
                                                         "demo.sidecars.warc.gz"]
    assert summaries[0] == summaries[1] and summaries[0]["sidecars"] > 0
    lines1, recs1 = _outputs(tmp_path / "jobs1")
    lines2, recs2 = _outputs(tmp_path / "jobs2")
    assert lines1 == lines2
    assert [r[0] for r in recs2] == ["warcinfo"] + ["metadata"] * summaries[0]["sidecars"]
    assert recs1[1:] == recs2[1:]  # same sidecars, same order, same responses referred to
