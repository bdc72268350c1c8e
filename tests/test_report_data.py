"""Report numbers from a run's summary and its WARC files, whatever version wrote them."""

from __future__ import annotations

import io
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsarchive.report.data import ReportData, truncated_in_warcs
from newsarchive.report.page import kpis


def write_warc(path: Path) -> None:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, cut in (("http://a.example/big.bin", "length"), ("http://a.example/ok.html", None)):
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            headers = {"WARC-Truncated": cut} if cut else {}
            rec = writer.create_warc_record(url, "response", payload=io.BytesIO(b"x" * 100),
                                            http_headers=http, warc_headers_dict=headers)
            writer.write_record(rec)


def test_truncated_records_are_found_in_the_warc_files(tmp_path: Path) -> None:
    warc = tmp_path / "a.warc.gz"
    write_warc(warc)
    found = truncated_in_warcs([str(warc)])
    assert [(f["url"], f["why"]) for f in found] == [("http://a.example/big.bin", "length")]


def test_truncation_counts_by_reason_are_summed() -> None:
    data = ReportData("c", "now", {"truncated": {"length": 2, "time": 1}, "warc_files": []}, {})
    assert kpis(data)["truncated"] == 3
    data = ReportData("c", "now", {"pages": 5}, {"truncated": 4})
    assert kpis(data)["truncated"] == 4 and kpis(data)["warc_files"] is None
