"""Reading ``logs/crawl.log``, tolerantly: Heritrix-style lines and our older ones.

Heritrix's crawl.log has one line per URI attempted, fields separated by
runs of spaces::

    TIMESTAMP STATUS SIZE URI DISCOVERY-PATH REFERRER MIME THREAD FETCH-TS+MS DIGEST SOURCE ANNOTATIONS [EXTRA]

A negative status is a failure without an HTTP response (``-1`` DNS,
``-2`` connect, ``-4`` timeout, ``-9998`` robots.txt, ...); ``-`` stands for
an empty field; ``FETCH-TS+MS`` is when the fetch began (17 digits) and how
long it took in milliseconds; the annotations are a comma list (``err=...``,
``reason=...``, ``lenTrunc``, ``timeTrunc``...). Older newsarchive logs have
``DATE STATUS SIZE URI WARC-FILE OFFSET response|revisit RECORD-ID`` per
archived record. Lines that fit neither are counted, not fatal: a report is
read long after the crawl, by versions of newsarchive not yet written.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Heritrix's fetch status codes below zero (FetchStatusCodes), as words; where
# newsarchive's crawl writes a code for a case of its own (-4002 a redirect
# chain cut, -5003 a URL the egress policy blocks, -7 a URL over the length
# limit: newsarchive.fetch.outcomes), the word says that case.
FAILURE_KINDS = {
    -1: "dns",
    -2: "connect",
    -3: "connection lost",
    -4: "timeout",
    -5: "runtime error",
    -6: "dns",
    -7: "unfetchable URL",
    -8: "retries exhausted",
    -50: "temporary error",
    -60: "prerequisite failed",
    -61: "prerequisite failed",
    -62: "other failure",
    -404: "empty response",
    -3000: "severe error",
    -4000: "trap",
    -4001: "too many hops",
    -4002: "too many redirects",
    -5000: "out of scope",
    -5001: "blocked by filter",
    -5002: "blocked",
    -5003: "blocked",
    -5004: "blocked",
    -6000: "unsupported scheme",
    -7000: "disallowed",
    -9998: "robots.txt",
    -9999: "disregarded",
}

#: codes of a URL not fetched by policy (robots.txt, scope, the egress policy, the
#: URL length limit): the site's or the operator's rule, not a failed fetch
REFUSALS = frozenset({-7, -4000, -4001, -5000, -5001, -5002, -5003, -5004, -9998})

_TRUNCATION_MARKS = ("lenTrunc", "timeTrunc", "midFetchTrunc", "truncated")


def failure_kind(status: int) -> str:
    """A word for a status: ``http 404``, ``http 5xx``, ``timeout``, ``robots.txt``..."""
    if status < 0:
        return FAILURE_KINDS.get(status, f"error {status}")
    if status >= 500:
        return "http 5xx"
    if status >= 400:
        return f"http {status}"
    return "ok"


@dataclass(slots=True)
class LogLine:
    """One attempt, from either format."""

    stamp: str  # the line's ISO 8601 time, as written
    status: int
    size: int
    url: str
    mime: str | None = None
    duration_ms: int | None = None
    annotations: tuple[str, ...] = ()
    reason: str | None = None
    record_type: str | None = None  # response/revisit (older lines)

    @property
    def when(self) -> dt.datetime | None:
        """The line's time (UTC), or None if it is not a time."""
        return _time(self.stamp)

    @property
    def failed(self) -> bool:
        """No page came back, or an HTTP error (refusals are not failures)."""
        return (self.status < 0 and self.status not in REFUSALS) or self.status >= 400

    @property
    def refused(self) -> bool:
        """Not fetched by policy: robots.txt, scope, egress, URL length."""
        return self.status in REFUSALS

    @property
    def robots_blocked(self) -> bool:
        """Not fetched because robots.txt disallows it."""
        if self.status == -9998:
            return True
        return self.status < 0 and "robots" in " ".join(self.annotations).lower()

    @property
    def truncated(self) -> str | None:
        """Why the body was cut (``length``, ``time``...), or None."""
        for mark in self.annotations:
            low = mark.lower()
            if any(m.lower() in low for m in _TRUNCATION_MARKS):
                return mark.split("=", 1)[-1] if "=" in mark else mark
        return None


def _time(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _int(text: str, default: int = 0) -> int:
    try:
        return int(text)
    except ValueError:
        return default


def _duration(field: str) -> int | None:
    if "+" not in field:
        return None
    ms = field.rsplit("+", 1)[1]
    return int(ms) if ms.isdigit() else None


def _reason(annotations: tuple[str, ...], extra: str) -> str | None:
    for prefix in ("reason=", "err=", "error="):
        for mark in annotations:
            if mark.startswith(prefix):
                return mark[len(prefix):]
    extra = extra.strip()
    if extra.startswith("{"):
        try:
            data = json.loads(extra)
        except ValueError:
            data = {}
        if isinstance(data, dict):
            for key in ("reason", "error", "message"):
                if data.get(key):
                    return str(data[key])
    return extra or None


def parse_line(line: str) -> LogLine | None:
    """One line, or None when it is neither format."""
    parts = line.split(None, 11)
    if len(parts) < 4 or not parts[1].lstrip("-").isdigit():
        return None
    stamp, status, size, url = parts[0], int(parts[1]), _int(parts[2]), parts[3]
    if len(parts) == 8 and parts[6] in ("response", "revisit") and parts[5].isdigit():
        return LogLine(stamp, status, size, url, record_type=parts[6])
    if len(parts) < 9:
        return LogLine(stamp, status, size, url)
    annotations: tuple[str, ...] = ()
    extra = ""
    if len(parts) == 12:
        tail = parts[11].split(None, 1)
        if tail[0] != "-":
            annotations = tuple(a for a in tail[0].split(",") if a)
        extra = tail[1] if len(tail) > 1 else ""
    return LogLine(
        stamp, status, size, url, mime=parts[6] if parts[6] != "-" else None,
        duration_ms=_duration(parts[8]), annotations=annotations,
        reason=_reason(annotations, extra) if annotations or extra else None,
    )


def iter_log(path: Path, since: dt.datetime | None = None, until: dt.datetime | None = None
             ) -> Iterator[LogLine | None]:
    """Lines logged between ``since`` and ``until``, to the second (all when not given);
    None for a line that could not be read (nothing for a missing file)."""
    if not path.is_file():
        return
    low, high = _key(since, ""), _key(until, "~")
    for line in iter_lines(path):
        if line is None:
            yield None
            continue
        key = line.stamp[:19]
        if key[:4].isdigit() and not low <= key <= high:
            continue
        yield line


SLOWEST = 20  # the slowest fetches a report lists


@dataclass
class CrawlLog:
    """What a report takes from a run's crawl.log, gathered in one pass (:func:`read_log`).

    Counts, and only the first ``limit`` lines of each kind a report lists: a
    crawl of 100,000 pages logs 100,000 lines and more, and holding them all
    (about 0.43 KB each) made the end of a crawl, where its report is written,
    grow with the crawl (issue #19).
    """

    limit: int = 500
    lines: int = 0  # lines read in the window
    unreadable: int = 0
    failed: int = 0
    failures: list[LogLine] = field(default_factory=list)  # the first ``limit``
    failure_kinds: Counter[str] = field(default_factory=Counter)  # of those without a response
    #: failures per second (epoch), for the report's timeline; the first and last
    #: failure's time in log order
    failed_seconds: Counter[int] = field(default_factory=Counter)
    first_failed: dt.datetime | None = None
    last_failed: dt.datetime | None = None
    refused: Counter[str] = field(default_factory=Counter)  # kind -> lines
    robots_blocked: int = 0
    robots: list[LogLine] = field(default_factory=list)  # the first ``limit``
    truncated: int = 0
    cut: list[LogLine] = field(default_factory=list)  # the first ``limit``
    timed: int = 0  # lines with a fetch duration and a response
    _slow: list[tuple[int, int, LogLine]] = field(default_factory=list)  # min-heap

    def add(self, line: LogLine) -> None:
        """Count one line."""
        self.lines += 1
        if line.failed:
            self.failed += 1
            if len(self.failures) < self.limit:
                self.failures.append(line)
            if line.status < 0:
                self.failure_kinds[failure_kind(line.status)] += 1
            when = line.when
            if when is not None:
                self.failed_seconds[int(when.timestamp())] += 1
                self.first_failed = self.first_failed or when
                self.last_failed = when
        if line.refused:
            self.refused[failure_kind(line.status)] += 1
        if line.robots_blocked:
            self.robots_blocked += 1
            if len(self.robots) < self.limit:
                self.robots.append(line)
        if line.truncated:
            self.truncated += 1
            if len(self.cut) < self.limit:
                self.cut.append(line)
        if line.duration_ms is not None and line.status > 0:
            self.timed += 1
            # the slowest first, earlier lines first among equals (a stable sort's order)
            entry = (line.duration_ms, -self.lines, line)
            if len(self._slow) < SLOWEST:
                heapq.heappush(self._slow, entry)
            elif entry[:2] > self._slow[0][:2]:
                heapq.heapreplace(self._slow, entry)

    def slowest(self) -> list[LogLine]:
        """The :data:`SLOWEST` longest fetches, longest first."""
        return [line for *_, line in sorted(self._slow, key=lambda e: e[:2], reverse=True)]


def iter_lines(path: Path) -> Iterator[LogLine | None]:
    """Every line of a crawl.log, parsed (None for one that is not)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            if raw.strip():
                yield parse_line(raw)


def _key(when: dt.datetime | None, default: str) -> str:
    """A time as the first 19 characters of an ISO 8601 UTC stamp: compared as text, the
    way both formats write it (``2026-11-30T09:54:36``), without parsing every line."""
    if when is None:
        return default
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def read_log(
    path: Path, since: dt.datetime | None = None, until: dt.datetime | None = None,
    limit: int = 500,
) -> CrawlLog:
    """The counts of the lines logged between ``since`` and ``until``, to the second (all
    when not given), keeping the first ``limit`` lines of each listed kind."""
    out = CrawlLog(limit)
    for line in iter_log(path, since, until):
        if line is None:
            out.unreadable += 1
        else:
            out.add(line)
    return out
