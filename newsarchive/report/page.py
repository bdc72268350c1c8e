"""The report as one self-contained HTML file: inline CSS, inline SVG charts, no script.

Nothing in it refers to another file or server (the charts are SVG drawn
beforehand, the style is inline, URLs in tables are text, not links), so it
opens from disk years later, offline, and prints on A4 (charts do not break
across pages). Every headline number carries ``data-key`` so tests and
scripts can read it back.
"""

from __future__ import annotations

import html
from typing import Any

from newsarchive.report.data import ReportData

_STYLE = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;
 padding:16px 24px;color:#222;background:#fff}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.4em 0 .4em;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:.9em}
dl.kpi{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px;margin:12px 0}
dl.kpi div{border:1px solid #e0e0e0;border-radius:6px;padding:6px 10px;background:#fafafa}
dl.kpi dt{font-size:.8em;color:#555}dl.kpi dd{margin:0;font-size:1.35em;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:12px 24px}
.chart{margin:0;break-inside:avoid;page-break-inside:avoid;max-width:100%;overflow-x:auto}
.chart svg{max-width:100%;height:auto}
table{border-collapse:collapse;width:100%;font-size:.88em;margin:.4em 0}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f3f3f3}td.url{word-break:break-all}td.n,th.n{text-align:right}
.bad{color:#c62828;font-weight:600}.ok{color:#2e7d32;font-weight:600}
.note{background:#fff8e1;border-left:4px solid #f9a825;padding:4px 10px;margin:6px 0}
@media print{body{max-width:none;padding:0;font-size:11pt}h2{break-after:avoid}
 table{font-size:9pt}dl.kpi dd{font-size:1.1em}}
"""

_KPIS = (
    ("pages", "pages fetched"), ("errors", "errors"), ("captures", "captures"),
    ("responses", "new captures"), ("revisits", "revisits"), ("articles", "articles"),
    ("sidecars", "sidecars"), ("articles_without_sidecar", "articles without sidecar"),
    ("failed", "failed attempts"), ("refused", "refused by policy"),
    ("robots_forbidden", "robots.txt refusals"),
    ("truncated", "truncated"), ("warc_files", "WARC files"), ("megabytes", "WARC MB"),
    ("elapsed", "seconds"), ("pages_per_second", "pages/s"),
)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _count(value: Any, default: Any) -> Any:
    """A summary's count: a number, or a dict of counts by reason (summed)."""
    if isinstance(value, dict):
        return sum(int(v) for v in value.values())
    return default if value is None else value


def kpis(data: ReportData) -> dict[str, Any]:
    """The headline numbers: the run's summary where it has them, else the catalog's."""
    run = data.run or {}
    t = data.totals
    files = run.get("warc_files")
    out: dict[str, Any] = {
        "pages": run.get("pages"),
        "errors": run.get("errors"),
        "captures": t.get("captures"),
        "responses": t.get("responses"),
        "revisits": t.get("revisits"),
        "articles": t.get("articles"),
        "sidecars": t.get("sidecars"),
        "articles_without_sidecar": t.get("articles_without_sidecar"),
        "failed": t.get("failed"),
        "refused": t.get("refused"),
        "robots_forbidden": run.get("robots_forbidden", t.get("robots_blocked_logged")),
        "truncated": _count(run.get("truncated"), t.get("truncated")),
        "warc_files": len(files) if isinstance(files, list) else None,
        "megabytes": round(run["warc_bytes"] / 1e6, 2) if run.get("warc_bytes") else None,
        "elapsed": round(run["elapsed"], 1) if run.get("elapsed") else None,
        "pages_per_second": run.get("pages_per_second"),
    }
    return out


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]], total: int | None,
           empty: str, table_id: str) -> str:
    if not rows:
        return f"<p class='meta' id='{table_id}'>{_e(empty)}</p>"
    head = "".join(
        f"<th class='n'>{_e(title)}</th>" if key in ("ms", "size", "status") else f"<th>{_e(title)}</th>"
        for key, title in columns
    )
    body = []
    for row in rows:
        cells = []
        for key, _title in columns:
            cls = " class='url'" if key == "url" else " class='n'" if key in ("ms", "size", "status") else ""
            cells.append(f"<td{cls}>{_e(row.get(key))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if total is not None and total > len(rows):
        more = f"<p class='meta'>and {total - len(rows)} more (see logs/crawl.log)</p>"
    return (f"<table id='{table_id}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>{more}")


def _chart(name: str, svgs: dict[str, str]) -> str:
    svg = svgs.get(name)
    return f"<figure class='chart' id='chart-{name}'>{svg}</figure>" if svg else ""


def render(data: ReportData, svgs: dict[str, str]) -> str:
    """The whole HTML document."""
    run = data.run or {}
    numbers = kpis(data)
    title = f"Crawl report: {data.collection}"
    if run.get("run_id"):
        title += f", run {run['run_id']}"
    status = run.get("status")
    outcome = ""
    if run:
        bad = bool(run.get("error")) or (run.get("exit_code") or 0) != 0 or status == "running"
        word = "did not finish" if status == "running" else (run.get("finish_reason") or "?")
        outcome = (f"<span class='{'bad' if bad else 'ok'}' data-key='outcome'>{_e(word)}"
                   f"{': ' + _e(run.get('error')) if run.get('error') else ''}</span> &middot; ")
    when = ""
    if run.get("started_at"):
        when = f"started {_e(run['started_at'])}, finished {_e(run.get('finished_at') or '?')} &middot; "
    kpi_html = "".join(
        f"<div><dt>{_e(label)}</dt><dd data-key='{key}'>"
        f"{_e('–' if numbers[key] is None else numbers[key])}</dd></div>"
        for key, label in _KPIS
    )
    notes = "".join(f"<p class='note'>{_e(n)}</p>" for n in data.notes)
    t = data.totals
    sections = [
        "<h2>Activity</h2>",
        f"<div class='charts'>{_chart('timeline', svgs)}</div>",
        "<h2>Responses</h2>",
        f"<div class='charts'>{_chart('statuses', svgs)}{_chart('mimes', svgs)}"
        f"{_chart('hosts', svgs)}{_chart('render', svgs)}</div>",
        "<h2>Articles</h2>",
        f"<div class='charts'>{_chart('funnel', svgs)}{_chart('sites', svgs)}</div>",
    ]
    if "growth" in svgs:
        sections += ["<h2>The collection across runs</h2>",
                     f"<div class='charts'>{_chart('growth', svgs)}</div>"]
    sections += [
        "<h2>Slowest pages</h2>",
        _table(data.slowest, [("url", "URL"), ("ms", "ms"), ("status", "status"), ("size", "bytes")],
               None, "No fetch durations in crawl.log.", "slowest"),
        f"<h2>Failures ({_e(t.get('failed', 0))})</h2>",
        _table(data.failures, [("time", "time"), ("url", "URL"), ("status", "status"),
                               ("kind", "kind"), ("reason", "reason")],
               t.get("failed"), "No failed URLs.", "failures"),
        f"<h2>Blocked by robots.txt ({_e(numbers['robots_forbidden'] or 0)})</h2>",
        _table(data.robots, [("url", "URL")], t.get("robots_blocked_logged"),
               "No URL of this run is listed as blocked in crawl.log.", "robots"),
        f"<h2>Truncated ({_e(numbers['truncated'] or 0)})</h2>",
        _table(data.truncated, [("url", "URL"), ("why", "why"), ("size", "size")],
               t.get("truncated"), "No truncated captures.", "truncated"),
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{_e(title)}</h1><div class='meta'>{outcome}{when}"
        f"report generated {_e(data.generated_at)} by newsarchive</div></header>"
        f"<dl class='kpi'>{kpi_html}</dl>{notes}{''.join(sections)}</body></html>"
    )
