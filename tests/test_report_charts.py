"""The report's charts: drawn by a child process whose chart engine starts while the
report's numbers are gathered, the same as drawn in the report's own process, and
drawn there when the child cannot draw them."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsarchive.report import chartproc, charts
from newsarchive.report.data import ReportData


def report_data() -> ReportData:
    data = ReportData("demo", "2026-12-01T00:00:00+00:00", {"pages": 3}, {"pages": 3})
    data.timeline = [{"time": "2026-12-01T00:00:00+00:00", "kind": "new", "pages": 2},
                     {"time": "2026-12-01T00:01:00+00:00", "kind": "failed", "pages": 1}]
    data.statuses = [{"status": "200", "kind": "ok", "count": 2},
                     {"status": "404", "kind": "http error", "count": 1}]
    data.mimes = [{"mime": "text/html", "count": 3, "megabytes": 0.012}]
    data.hosts = [{"host": "news.example", "count": 3, "articles": 2, "megabytes": 0.012}]
    data.funnel = [{"stage": "HTML pages", "count": 3}, {"stage": "articles", "count": 2}]
    return data


def test_the_chart_process_draws_the_charts_the_report_process_would(
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = report_data()
    here = charts.draw_all(data)
    assert set(here) == {"timeline", "statuses", "mimes", "hosts", "funnel"}
    assert all(svg.startswith("<svg") for svg in here.values())

    def not_here(spec: charts.Spec) -> str:
        raise AssertionError("drawn in the report's process, not by the chart process")

    monkeypatch.setattr(charts, "to_svg", not_here)
    drawer = chartproc.ChartProcess()
    try:
        assert charts.draw_all(data, drawer) == here
    finally:
        drawer.close()


def test_the_report_keeps_its_charts_when_the_chart_process_fails(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = report_data()
    here = charts.draw_all(data)
    crash = tmp_path / "crash.py"
    crash.write_text("import sys\nsys.stdin.read()\nsys.exit(3)\n")
    monkeypatch.setattr(chartproc, "__file__", str(crash))  # the child dies without an answer
    drawer = chartproc.ChartProcess()
    assert charts.draw_all(data, drawer) == here
    monkeypatch.setattr(chartproc.sys, "executable", str(tmp_path / "no-python"))
    drawer = chartproc.ChartProcess()  # cannot even start
    assert charts.draw_all(data, drawer) == here
