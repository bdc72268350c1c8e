"""Each failed fetch gets its kind (and Heritrix code); a run gets its status."""

from __future__ import annotations

import pytest
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from twisted.internet.error import ConnectionLost, DNSLookupError, TCPTimedOutError

from newsarchive.fetch.outcomes import CODES, failure_kind
from newsarchive.schedule.runs import run_status


@pytest.mark.parametrize(("exc", "kind", "code"), [
    (CannotResolveHostError("no such host"), "dns", -1),
    (DNSLookupError("no such host"), "dns", -1),
    (DownloadConnectionRefusedError("refused"), "connect", -2),
    (TCPTimedOutError(), "connect", -2),
    (ConnectionLost(), "connect_lost", -3),
    (DownloadTimeoutError("took longer than 60 s"), "timeout", -4),
    (IgnoreRequest("Forbidden by robots.txt"), "robots", -9998),
    (IgnoreRequest("blocked by the egress policy: 10.0.0.1"), "blocked", -5003),
    (ValueError("something else"), "other", -5),
])
def test_failure_kinds_and_heritrix_codes(exc: Exception, kind: str, code: int) -> None:
    assert failure_kind(exc) == kind
    assert CODES[kind] == code


def test_the_crawl_states_skips_are_no_fetch_attempt() -> None:
    assert failure_kind(IgnoreRequest("known and not due (fresh): http://x/")) == "skipped"
    assert failure_kind(IgnoreRequest("already requested in this run: http://x/")) == "skipped"
    # words of the URL are not the reason: an article about a blockade is not "blocked"
    assert failure_kind(IgnoreRequest("known and not due (recent): http://x/blockade-ends.html")) == "skipped"
    assert failure_kind(IgnoreRequest("http://x/egress.html: blocked by the egress policy")) == "blocked"


@pytest.mark.parametrize(("exit_code", "summary", "status"), [
    (0, {"outcome": "ok"}, "ok"),
    (0, {"outcome": "time-limited"}, "time-limited"),
    (1, {"outcome": "partial"}, "partial"),
    (1, {"outcome": "failed"}, "failed"),
    (130, {"outcome": "interrupted"}, "interrupted"),
    (143, None, "interrupted"),
    (-9, None, "failed"),  # killed without a summary
    (3, {"outcome": "failed"}, "failed"),
    (0, None, "failed"),  # exit 0 but no summary: nothing to trust
    (0, {}, "ok"),  # a summary from before outcomes existed
])
def test_run_status(exit_code: int, summary: dict | None, status: str) -> None:
    assert run_status(exit_code, summary) == status
