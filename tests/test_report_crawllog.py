"""Reading crawl.log tolerantly: Heritrix-style lines (failures, timings, truncation) and older lines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from newsarchive.report.crawllog import failure_kind, iter_log, parse_line, read_log

HERITRIX = (
    "2026-11-30T09:54:36.120Z   200      17213 http://news.example/a.html L http://news.example/ "
    "text/html #005 20261130095436050+70 sha1:ABCDEF - -\n"
    "2026-11-30T09:54:37.000Z    -1          - http://gone.example/ L http://news.example/ "
    "- #002 20261130095436900+100 - - err=dns,reason=no-such-host\n"
    "2026-11-30T09:54:38.000Z -9998          - http://news.example/private/x.html L - "
    "- #001 - - - robots\n"
    "2026-11-30T09:54:39.000Z   200    5000000 http://news.example/big.bin L - "
    "application/octet-stream #004 20261130095438000+900 sha1:X - lenTrunc\n"
    "2026-11-30T09:54:40.000Z   404        120 http://news.example/missing.html L - "
    "text/html #003 20261130095439990+10 sha1:Y - - {\"reason\": \"Not Found\"}\n"
)
OLD = ("2026-11-30T09:50:00Z 200 1234 http://news.example/old.html "
       "newsarchive-1.warc.gz 0 response <urn:uuid:1>\n")


def test_heritrix_lines_give_failures_timings_robots_and_truncation(tmp_path: Path) -> None:
    log = tmp_path / "crawl.log"
    log.write_text(OLD + HERITRIX + "garbage line\n")
    read = list(iter_log(log))
    assert read.count(None) == 1 and read_log(log).unreadable == 1
    lines = [line for line in read if line is not None]
    assert [line.url.rsplit("/", 1)[-1] for line in lines] == [
        "old.html", "a.html", "", "x.html", "big.bin", "missing.html"]
    old, ok, dns, robots, big, missing = lines
    assert old.record_type == "response" and old.duration_ms is None and not old.failed
    assert ok.duration_ms == 70 and ok.mime == "text/html" and not ok.failed
    assert dns.failed and failure_kind(dns.status) == "dns" and dns.reason == "no-such-host"
    assert robots.robots_blocked and not robots.failed
    assert big.truncated == "lenTrunc" and big.duration_ms == 900
    assert missing.failed and failure_kind(404) == "http 404" and missing.reason == "Not Found"


def test_a_run_reads_only_its_own_time_window(tmp_path: Path) -> None:
    log = tmp_path / "crawl.log"
    log.write_text(OLD + HERITRIX)
    since = dt.datetime(2026, 11, 30, 9, 54, 37, tzinfo=dt.UTC)
    until = dt.datetime(2026, 11, 30, 9, 54, 39, tzinfo=dt.UTC)
    assert [line.status for line in iter_log(log, since, until) if line] == [-1, -9998, 200]
    assert read_log(log, since, until).lines == 3
    assert list(iter_log(tmp_path / "missing.log")) == []
    assert read_log(tmp_path / "missing.log").lines == 0


def test_unknown_negative_codes_and_5xx_have_a_kind() -> None:
    assert failure_kind(-4) == "timeout" and failure_kind(-12345) == "error -12345"
    assert failure_kind(503) == "http 5xx" and failure_kind(200) == "ok"
    assert parse_line("not a log line") is None


def test_the_crawls_refusals_are_not_failures_and_have_their_own_words() -> None:
    """What the crawl logs as a refusal (robots, egress, URL length) reads back as one."""
    from newsarchive.fetch.outcomes import CODES, FAILURE_KINDS, REFUSAL_KINDS

    assert len(REFUSAL_KINDS) == 3
    for kind in REFUSAL_KINDS:
        line = parse_line(f"2026-11-30T09:54:38.000Z {CODES[kind]} - http://news.example/x L - "
                          f"- #001 - - - reason={kind}")
        assert line is not None and line.refused and not line.failed, kind
    failures = [kind for kind in FAILURE_KINDS if kind in CODES]
    assert len(failures) >= 6
    for kind in failures:
        line = parse_line(f"2026-11-30T09:54:38.000Z {CODES[kind]} - http://news.example/x L - "
                          "- #001 - - - -")
        assert line is not None and line.failed and not line.refused, kind
    assert failure_kind(CODES["url_length"]) == "unfetchable URL"
    assert failure_kind(CODES["blocked"]) == "blocked"
    assert failure_kind(CODES["redirects"]) == "too many redirects"


def test_the_report_counts_refusals_apart(tmp_path: Path) -> None:
    from newsarchive.report.data import ReportData, _log_part

    log = tmp_path / "crawl.log"
    log.write_text(HERITRIX
                   + "2026-11-30T09:54:41.000Z    -7          - http://news.example/" + "a" * 300
                   + " L - - #001 - - - reason=url_length\n"
                   + "2026-11-30T09:54:42.000Z -5003          - http://10.0.0.1/ L - - #001 - - - "
                   + "reason=blocked\n")
    data = ReportData(collection="c", generated_at="now", run=None, totals={})
    _log_part(data, read_log(log))
    assert data.totals["failed"] == 2  # the DNS failure and the 404
    assert data.totals["refused"] == 3  # robots.txt, URL length, egress
    refused = {row["status"]: row["count"] for row in data.statuses if row["kind"] == "refused"}
    assert refused == {"robots.txt": 1, "unfetchable URL": 1, "blocked": 1}


def test_the_reports_log_summary_keeps_counts_and_only_the_rows_it_lists(tmp_path: Path) -> None:
    """The report reads crawl.log in one pass without holding its lines (a 100,000-page
    crawl logs 100,000 of them): counts over every line, the first rows of each table,
    the slowest fetches longest first (earlier lines first among equals), failures
    per second for the timeline."""
    lines = []
    for i in range(60):
        second = f"2026-11-30T10:00:{i:02d}.000Z"
        status, mark = [(200, "-"), (404, "-"), (-1, "err=dns"), (-9998, "robots"),
                        (200, "lenTrunc")][i % 5]
        ms = (i * 7) % 13  # durations repeat: ties are ordered by line
        lines.append(f"{second} {status} 10 http://news.example/{i}.html L - text/html #001 "
                     f"2026113010000{i % 10}000+{ms} - - {mark}\n")
    log = tmp_path / "crawl.log"
    log.write_text("".join(lines))
    every = [line for line in iter_log(log) if line is not None]
    got = read_log(log, limit=4)
    failed = [line for line in every if line.failed]
    assert got.lines == 60 and got.failed == len(failed) == 24
    assert got.failures == failed[:4] and len(got.robots) == 4 and len(got.cut) == 4
    assert got.robots_blocked == 12 and got.truncated == 12
    assert dict(got.failure_kinds) == {"dns": 12} and dict(got.refused) == {"robots.txt": 12}
    timed = [line for line in every if line.duration_ms is not None and line.status > 0]
    assert got.slowest() == sorted(timed, key=lambda line: line.duration_ms or 0,
                                   reverse=True)[:20]
    assert got.first_failed == failed[0].when and got.last_failed == failed[-1].when
    assert sum(got.failed_seconds.values()) == 24
