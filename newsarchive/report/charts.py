"""The report's charts: Vega-Lite specifications, drawn to SVG by vl-convert.

vl-convert embeds Vega and Vega-Lite themselves (no browser, no Node), so a
chart is drawn here, at report time, and inlined in the HTML as SVG: the
report needs no script, font or server to show it, and prints as drawn. The
specifications are written as plain Vega-Lite JSON (Altair would build the
same dicts, at several seconds of import on a loaded machine).
"""

from __future__ import annotations

import logging
from typing import Any

from newsarchive.report.chartproc import ChartProcess
from newsarchive.report.data import ReportData

logger = logging.getLogger(__name__)

Spec = dict[str, Any]

WIDTH = 380  # px of a chart's plot area: two charts side by side on a laptop screen
COLORS = {
    "new": "#2e7d32", "revisit": "#90a4ae", "failed": "#c62828",
    "ok": "#2e7d32", "redirect": "#f9a825", "http error": "#ef6c00", "no response": "#c62828",
    "refused": "#78909c",
    "other": "#6d4c41",
}
_PALETTE = ("#1565c0", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457", "#558b2f", "#4e342e")
# Labels are measured when drawn, so the font is one wide enough that a reader's
# fallback (Helvetica, Arial) is never wider than what space was left for it.
CONFIG = {
    "font": "DejaVu Sans, Verdana, sans-serif",
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 11, "labelLimit": 220},
    "legend": {"labelFontSize": 11},
    "title": {"fontSize": 13, "anchor": "start"},
}


def _kind_scale(kinds: list[str]) -> Spec:
    domain = [k for k in COLORS if k in kinds] + sorted(k for k in set(kinds) if k not in COLORS)
    return {"domain": domain,
            "range": [COLORS.get(k) or _PALETTE[i % len(_PALETTE)] for i, k in enumerate(domain)]}


def _bars(title: str, values: list[dict[str, Any]], y: str, x: str, x_title: str,
          color: Spec | str, *, sort: Any = "-x") -> Spec:
    """A horizontal bar chart: one bar per ``y`` category, length ``x``."""
    encoding: Spec = {
        "y": {"field": y, "type": "nominal", "sort": sort, "title": None},
        "x": {"field": x, "type": "quantitative", "title": x_title},
    }
    mark: Spec = {"type": "bar"}
    if isinstance(color, str):
        mark["color"] = color
    else:
        encoding["color"] = color
    return {"title": title, "width": WIDTH, "data": {"values": values}, "mark": mark,
            "encoding": encoding}


def timeline(data: ReportData) -> Spec | None:
    """Pages over time: new captures, revisits and failures per time bucket."""
    if not data.timeline:
        return None
    kinds = sorted({r["kind"] for r in data.timeline})
    step = data.bucket_seconds
    fmt = "%H:%M:%S" if step < 60 else "%H:%M" if step < 86400 else "%Y-%m-%d"
    return {
        "title": "Pages over time",
        "width": WIDTH * 2 + 120, "height": 170,
        "data": {"values": data.timeline},
        "transform": [{"calculate": f"toDate(datum.time) + {step * 1000}", "as": "end"}],
        "mark": {"type": "bar", "stroke": "white", "strokeWidth": 0.5},
        "encoding": {
            "x": {"field": "time", "type": "temporal", "axis": {"format": fmt},
                  "title": f"time (UTC), {step} s per bar", "scale": {"type": "utc"}},
            "x2": {"field": "end"},
            "y": {"aggregate": "sum", "field": "pages", "type": "quantitative", "title": "pages",
                  "stack": "zero"},
            "color": {"field": "kind", "type": "nominal", "scale": _kind_scale(kinds),
                      "title": None},
        },
    }


def statuses(data: ReportData) -> Spec | None:
    """HTTP status codes and failure kinds."""
    if not data.statuses:
        return None
    kinds = sorted({r["kind"] for r in data.statuses})
    return _bars("HTTP status and failures", data.statuses, "status", "count",
                 "captures / attempts",
                 {"field": "kind", "type": "nominal", "scale": _kind_scale(kinds), "title": None})


def mimes(data: ReportData) -> Spec | None:
    """MIME types by count and by bytes."""
    if not data.mimes:
        return None
    half = WIDTH // 2 - 10
    count = _bars("", data.mimes, "mime", "count", "captures", "#1565c0")
    size = _bars("", data.mimes, "mime", "megabytes", "MB (WARC records)", "#6a1b9a")
    size["encoding"]["y"]["axis"] = None
    for part in (count, size):
        part.pop("data")
        part.pop("title")
        part["width"] = half
    size["encoding"]["y"]["sort"] = {"field": "count", "order": "descending"}
    count["encoding"]["y"]["sort"] = {"field": "count", "order": "descending"}
    return {"title": "MIME types", "data": {"values": data.mimes}, "hconcat": [count, size]}


def hosts(data: ReportData) -> Spec | None:
    """Captures per host."""
    if not data.hosts:
        return None
    return _bars("Hosts", data.hosts, "host", "count", "captures", "#00838f")


def render_modes(data: ReportData) -> Spec | None:
    """Pages fetched as plain HTML, rendered in Chromium, or whose rendering failed."""
    if not any(r["pages"] for r in data.render):
        return None
    return _bars("Render mode", data.render, "mode", "pages", "HTML pages",
                 {"field": "mode", "type": "nominal", "legend": None,
                  "scale": {"domain": ["plain HTML", "rendered", "render failed"],
                            "range": ["#90a4ae", "#1565c0", "#c62828"]}}, sort=None)


def funnel(data: ReportData) -> Spec | None:
    """Pages -> articles -> sidecars (and articles left without one)."""
    if not any(r["count"] for r in data.funnel):
        return None
    return _bars("Article yield", data.funnel, "stage", "count", "pages", "#2e7d32", sort=None)


def sites(data: ReportData) -> Spec | None:
    """Ads and related links found around the articles, per site."""
    if not data.sites:
        return None
    rows = [{"site": s["site"], "kind": kind, "count": s[kind]}
            for s in data.sites for kind in ("ads", "related")]
    spec = _bars("Ads and related links per site", rows, "site", "count",
                 "labelled in the sidecars",
                 {"field": "kind", "type": "nominal", "title": None,
                  "scale": {"domain": ["ads", "related"], "range": ["#c62828", "#1565c0"]}},
                 sort=None)
    spec["encoding"]["yOffset"] = {"field": "kind", "type": "nominal"}
    return spec


def growth(data: ReportData) -> Spec | None:
    """Captures and articles of the collection after each run."""
    if not data.growth:
        return None
    rows = [{"run": g["started"] or g["run"], "what": what, "count": g[what]}
            for g in data.growth for what in ("captures", "articles")]
    return {
        "title": "Growth across runs", "width": WIDTH, "data": {"values": rows},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "run", "type": "temporal", "title": "run start (UTC)",
                  "scale": {"type": "utc"}, "axis": {"format": "%Y-%m-%d %H:%M", "labelAngle": -30}},
            "y": {"field": "count", "type": "quantitative", "title": "total in the collection"},
            "color": {"field": "what", "type": "nominal", "title": None},
        },
    }


CHARTS = {
    "timeline": timeline, "statuses": statuses, "mimes": mimes, "hosts": hosts,
    "render": render_modes, "funnel": funnel, "sites": sites, "growth": growth,
}


def to_svg(spec: Spec) -> str:
    """The chart drawn as SVG in this process (without an XML declaration: it is inlined)."""
    import vl_convert

    return _inline(vl_convert.vegalite_to_svg(_configured(spec)))


def _configured(spec: Spec) -> Spec:
    return {**spec, "config": CONFIG}


def _inline(svg: str) -> str:
    return svg[svg.index("<svg"):] if "<svg" in svg else svg


def draw_all(data: ReportData, drawer: ChartProcess | None = None) -> dict[str, str]:
    """name -> SVG of every chart that has data; drawn by ``drawer`` (its engine
    started beforehand, :mod:`newsarchive.report.chartproc`), else in this process."""
    specs = {name: spec for name, build in CHARTS.items() if (spec := build(data)) is not None}
    drawn = drawer.draw({name: _configured(spec) for name, spec in specs.items()}) \
        if drawer is not None and specs else None
    if drawn is not None and drawn.keys() == specs.keys():
        return {name: _inline(drawn[name]) for name in specs}
    return {name: to_svg(spec) for name, spec in specs.items()}
