"""The numbers of a crawl report, gathered from what a collection keeps.

Sources, each read once: the run's persisted ``--json`` summary
(:mod:`newsarchive.report.history`), the Parquet catalog (one row per capture,
through DuckDB: every aggregate is one SQL query, so 20,000 captures or two
million cost the same few queries), ``logs/crawl.log`` for failures, timings,
robots.txt refusals and truncations (:mod:`newsarchive.report.crawllog`), and
the crawl state for articles that have no sidecar. A run's captures are the
catalog rows of the WARC files it wrote; without a run, the whole collection.
"""

from __future__ import annotations

import datetime as dt
import logging
import posixpath
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsarchive.collection import Collection, Layout
from newsarchive.report.crawllog import CrawlLog, failure_kind, read_log
from newsarchive.report.history import RunInfo, load_runs

logger = logging.getLogger(__name__)

TABLE_ROWS = 500  # rows of a table in the report; the rest are counted, not listed
TOP = 15  # bars of a ranked chart (hosts, MIME types, sites)
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400)


@dataclass
class ReportData:
    """Everything a report shows; lists of plain dicts, ready for charts and tables."""

    collection: str
    generated_at: str
    run: dict[str, Any] | None
    totals: dict[str, Any]
    timeline: list[dict[str, Any]] = field(default_factory=list)
    bucket_seconds: int = 60
    statuses: list[dict[str, Any]] = field(default_factory=list)
    mimes: list[dict[str, Any]] = field(default_factory=list)
    hosts: list[dict[str, Any]] = field(default_factory=list)
    render: list[dict[str, Any]] = field(default_factory=list)
    funnel: list[dict[str, Any]] = field(default_factory=list)
    sites: list[dict[str, Any]] = field(default_factory=list)
    slowest: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    robots: list[dict[str, Any]] = field(default_factory=list)
    truncated: list[dict[str, Any]] = field(default_factory=list)
    growth: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _bucket(seconds: float) -> int:
    """A round bucket width giving at most about 60 bars over ``seconds``."""
    for step in _STEPS:
        if seconds / step <= 60:
            return step
    return _STEPS[-1]


class _Catalog:
    """The catalog's columns a report needs, as DuckDB views.

    ``allcap``: every capture of the collection (for growth across runs);
    ``cap``: those of the run's WARC files (everything when no run is given).
    Archive rows only: not the DOM/screenshot resource records (``urn:*``).

    Views, not a table: each query streams the columns it needs from the
    Parquet files. A temporary table held the whole collection in memory
    (about 0.6 KB per capture, ~60 MB at 100,000), at the end of every crawl,
    growing with the collection (issue #19); reading the columns again for
    each of the few queries costs less than filling it did.
    """

    COLUMNS = ("url, host, timestamp, status, mime, record_type, warc_filename, warc_length, "
               "is_article, rendered, sidecar_file, publisher, ads_count, related_count")

    def __init__(self, coll: Collection, warc_names: list[str] | None) -> None:
        from newsarchive.index.query import connect, sql_list

        self.con = connect([coll], trusted=True)
        self.con.execute(f"CREATE TEMP VIEW allcap AS SELECT {self.COLUMNS} FROM catalog "
                         "WHERE url NOT LIKE 'urn:%'")
        where = "TRUE"
        if warc_names is not None:
            where = f"warc_filename IN ({sql_list(warc_names) or 'NULL'})"
        self.con.execute(f"CREATE TEMP VIEW cap AS SELECT * FROM allcap WHERE {where}")

    def rows(self, sql: str) -> list[dict[str, Any]]:
        cur = self.con.execute(sql)
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def one(self, sql: str) -> dict[str, Any]:
        found = self.rows(sql)
        return found[0] if found else {}


def _catalog_part(data: ReportData, cat: _Catalog, log: CrawlLog,
                  window: tuple[dt.datetime | None, dt.datetime | None]) -> None:
    t = cat.one(
        "SELECT count(*) AS captures, count(*) FILTER (record_type = 'response') AS responses,"
        " count(*) FILTER (record_type = 'revisit') AS revisits,"
        " coalesce(sum(warc_length), 0) AS warc_record_bytes,"
        " count(*) FILTER (mime LIKE '%html%') AS html_pages,"
        " count(*) FILTER (sidecar_file IS NOT NULL) AS sidecars,"
        " count(*) FILTER (is_article) AS articles,"
        " count(*) FILTER (is_article AND rendered) AS rendered_articles,"
        " count(DISTINCT host) AS hosts, min(timestamp) AS first, max(timestamp) AS last"
        " FROM cap"
    )
    data.totals.update({k: v for k, v in t.items() if k not in ("first", "last")})
    first = window[0] or min([x for x in (t.get("first"), log.first_failed) if x], default=None)
    last = window[1] or max([x for x in (t.get("last"), log.last_failed) if x], default=None)
    if first is not None and last is not None:
        step = _bucket((last - first).total_seconds())
        data.bucket_seconds = step
        data.timeline = [
            {"time": r["t"].isoformat(), "kind": "new" if r["k"] == "response" else "revisit",
             "pages": r["n"]}
            for r in cat.rows(
                f"SELECT to_timestamp(floor(epoch(timestamp) / {step}) * {step}) AS t,"
                " record_type AS k, count(*) AS n FROM cap GROUP BY 1, 2 ORDER BY 1"
            )
        ]
        failed: Counter[dt.datetime] = Counter()
        for second, n in log.failed_seconds.items():
            failed[dt.datetime.fromtimestamp(second // step * step, dt.UTC)] += n
        data.timeline += [
            {"time": when.isoformat(), "kind": "failed", "pages": n}
            for when, n in sorted(failed.items())
        ]
    data.statuses = [
        {"status": str(r["status"]), "kind": _status_class(int(r["status"] or 0)),
         "count": r["n"]}
        for r in cat.rows("SELECT status, count(*) AS n FROM cap GROUP BY 1 ORDER BY 1")
    ]
    data.mimes = cat.rows(
        "SELECT coalesce(split_part(mime, ';', 1), 'unknown') AS mime, count(*) AS count,"
        " round(sum(warc_length) / 1e6, 3) AS megabytes FROM cap GROUP BY 1"
        f" ORDER BY count DESC LIMIT {TOP}"
    )
    data.hosts = cat.rows(
        "SELECT coalesce(host, '?') AS host, count(*) AS count,"
        " count(*) FILTER (is_article) AS articles, round(sum(warc_length) / 1e6, 3) AS megabytes"
        f" FROM cap GROUP BY 1 ORDER BY count DESC LIMIT {TOP}"
    )
    data.sites = cat.rows(
        "SELECT coalesce(publisher, host, '?') AS site, count(*) AS articles,"
        " coalesce(sum(ads_count), 0) AS ads, coalesce(sum(related_count), 0) AS related"
        f" FROM cap WHERE is_article GROUP BY 1 ORDER BY articles DESC LIMIT {TOP}"
    )


def _status_class(status: int) -> str:
    """``ok``, ``redirect``, ``http error`` or ``other``: the colour of a status bar."""
    if 200 <= status < 300:
        return "ok"
    if 300 <= status < 400:
        return "redirect"
    if status >= 400:
        return "http error"
    return "other"


def _log_part(data: ReportData, log: CrawlLog) -> None:
    data.statuses += [{"status": kind, "kind": "no response", "count": n}
                      for kind, n in log.failure_kinds.items()]
    data.totals["failed"] = log.failed
    data.failures = [
        {"time": line.stamp,
         "url": line.url, "status": line.status, "kind": failure_kind(line.status),
         "reason": line.reason or ""}
        for line in log.failures[:TABLE_ROWS]
    ]
    data.totals["refused"] = sum(log.refused.values())
    data.statuses += [{"status": kind, "kind": "refused", "count": n}
                      for kind, n in log.refused.items()]
    data.totals["robots_blocked_logged"] = log.robots_blocked
    data.robots = [{"url": line.url} for line in log.robots[:TABLE_ROWS]]
    data.totals["truncated"] = log.truncated
    data.truncated = [{"url": line.url, "why": line.truncated, "size": line.size}
                      for line in log.cut[:TABLE_ROWS]]
    data.slowest = [{"url": line.url, "ms": line.duration_ms, "status": line.status,
                     "size": line.size} for line in log.slowest()]
    if log.lines and not log.timed:
        data.notes.append("crawl.log has no fetch durations (lines of an older format): "
                          "no slowest pages")
    if log.unreadable:
        data.notes.append(f"{log.unreadable} lines of crawl.log could not be read")


def truncated_in_warcs(paths: list[str], limit: int = TABLE_ROWS) -> list[dict[str, Any]]:
    """Records marked ``WARC-Truncated`` in these WARC files: URL, reason, stored length.

    Read only when the run's summary counted truncations that crawl.log does not
    name (logs of versions that did not annotate them): it reads the files.
    """
    from warcio.archiveiterator import ArchiveIterator

    found: list[dict[str, Any]] = []
    for path in paths:
        try:
            with open(path, "rb") as fh:
                for rec in ArchiveIterator(fh):
                    why = rec.rec_headers.get_header("WARC-Truncated")
                    if why:
                        found.append({"url": rec.rec_headers.get_header("WARC-Target-URI"),
                                      "why": why,
                                      "size": rec.rec_headers.get_header("Content-Length")})
                        if len(found) >= limit:
                            return found
        except (OSError, ValueError) as exc:
            logger.warning("report: cannot read %s for truncated records: %s", path, exc)
    return found


def _render_part(data: ReportData, summary: dict[str, Any]) -> None:
    rendered = summary.get("rendered")
    plain = data.totals.get("html_pages", 0)
    if isinstance(rendered, int):
        plain = max(0, plain - rendered)
    data.render = [
        {"mode": "plain HTML", "pages": plain},
        {"mode": "rendered", "pages": rendered if isinstance(rendered, int)
         else data.totals.get("rendered_articles", 0)},
        {"mode": "render failed", "pages": int(summary.get("render_failed") or 0)},
    ]


def _funnel_part(data: ReportData, without: int | None) -> None:
    t = data.totals
    data.funnel = [
        {"stage": "HTML pages", "count": t.get("html_pages", 0)},
        {"stage": "articles", "count": t.get("articles", 0)},
        {"stage": "sidecars", "count": t.get("sidecars", 0)},
    ]
    if without is not None:
        data.funnel.append({"stage": "articles without sidecar", "count": without})


def _growth(runs: list[RunInfo], per_warc: dict[str, tuple[int, int]]) -> list[dict[str, Any]]:
    """Totals of the collection after each run: captures and articles of its WARC files
    in the catalog (``per_warc``), else the counts its summary gave."""
    out, captures, articles, size = [], 0, 0, 0
    for run in runs:
        s = run.summary
        if s.get("status") == "running":
            continue
        names = [posixpath.basename(str(w)) for w in s.get("warc_files") or []]
        if per_warc and names:
            captures += sum(per_warc.get(n, (0, 0))[0] for n in names)
            articles += sum(per_warc.get(n, (0, 0))[1] for n in names)
        else:
            captures += int(s.get("responses") or 0) + int(s.get("revisits") or 0)
            articles += int(s.get("sidecars") or 0)
        size += int(s.get("warc_bytes") or 0)
        out.append({"run": run.run_id, "started": s.get("started_at"),
                    "pages": int(s.get("pages") or 0), "captures": captures,
                    "articles": articles, "megabytes": round(size / 1e6, 3)})
    return out


def gather(coll: Collection, run: RunInfo | None,
           articles_without_sidecar: int | None = None) -> ReportData:
    """The report data of ``run`` (the whole collection when None)."""
    summary = dict(run.summary) if run else {}
    data = ReportData(
        collection=coll.name,
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        run=summary or None,
        totals={},
    )
    log_path = Layout(Path(coll.root)).crawl_log if not coll.remote else None
    since = run.started if run else None
    until = run.finished if run else None
    log = read_log(log_path, since, until, TABLE_ROWS) if log_path else CrawlLog(TABLE_ROWS)
    warcs = None
    if run is not None and summary.get("warc_files") is not None:
        warcs = [posixpath.basename(str(w)) for w in summary["warc_files"]]
    per_warc: dict[str, tuple[int, int]] = {}
    if coll.catalog_files():
        cat = _Catalog(coll, warcs)
        _catalog_part(data, cat, log, (run.started, run.finished) if run else (None, None))
        per_warc = {r[0]: (r[1], r[2]) for r in cat.con.execute(
            "SELECT warc_filename, count(*), count(*) FILTER (is_article) FROM allcap"
            " GROUP BY 1").fetchall()}
    else:
        where = f"`newsarchive report {summary['store']}`" if summary.get("store") else \
            "`newsarchive index` first"
        data.notes.append(f"no catalog in this folder (uploaded to a store, or not indexed): "
                          f"for charts of the captures run {where}")
    _log_part(data, log)
    counted = summary.get("truncated")
    if isinstance(counted, dict) and sum(counted.values()) and not data.truncated:
        local = [str(w) for w in summary.get("warc_files") or [] if Path(str(w)).is_file()]
        data.truncated = truncated_in_warcs(local)
    _render_part(data, summary)
    data.totals["articles_without_sidecar"] = articles_without_sidecar
    _funnel_part(data, articles_without_sidecar)
    if not coll.remote:
        data.growth = _growth(load_runs(Path(coll.root)), per_warc)
    return data
