"""Which articles an export keeps: dates, domains, languages, a text query.

Parsed once from the command line into an :class:`ExportFilter`; a bad value
is a one-line :class:`~newsarchive.exceptions.ConfigError` saying what to write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from newsarchive.exceptions import ConfigError

DATE_FIELDS = ("published", "captured")


def parse_day(value: str | None, option: str) -> dt.date | None:
    """``YYYY-MM-DD`` (or a full ISO date-time) as a date; None stays None."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise ConfigError(f"{option} {value!r}: give a date as YYYY-MM-DD") from None


def row_day(value: Any) -> dt.date | None:
    """The date of an ISO date/date-time string or datetime, or None if it has none."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class ExportFilter:
    """Conditions an article must meet to be exported (all of them)."""

    since: dt.date | None = None
    until: dt.date | None = None
    date_field: str = "published"
    domains: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    query: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def build(
        cls,
        *,
        since: str | None = None,
        until: str | None = None,
        date_field: str = "published",
        domains: Sequence[str] = (),
        languages: Sequence[str] = (),
        query: str | None = None,
    ) -> ExportFilter:
        """Validate command-line values into a filter."""
        if date_field not in DATE_FIELDS:
            raise ConfigError(f"--date-field {date_field!r}: use one of {', '.join(DATE_FIELDS)}")
        start, end = parse_day(since, "--since"), parse_day(until, "--until")
        if start and end and start > end:
            raise ConfigError(f"--since {since} is after --until {until}; swap them")
        return cls(
            since=start,
            until=end,
            date_field=date_field,
            domains=tuple(d.lower().removeprefix("www.").strip(".") for d in domains if d),
            languages=tuple(code.lower() for code in languages if code),
            query=tuple((query or "").lower().split()),
        )

    def matches(self, row: dict[str, Any]) -> bool:
        """Whether an export row (see :mod:`newsarchive.export.rows`) passes."""
        if self.since or self.until:
            day = row_day(row.get(self.date_field))
            if day is None:
                return False
            if (self.since and day < self.since) or (self.until and day > self.until):
                return False
        if self.domains:
            host = row.get("host") or ""
            if not any(host == d or host.endswith("." + d) for d in self.domains):
                return False
        if self.languages:
            lang = (row.get("language") or "").lower()
            if not any(lang == code or lang.startswith(code + "-") for code in self.languages):
                return False
        if self.query:
            haystack = f"{row.get('title') or ''}\n{row.get('text') or ''}".lower()
            if not all(word in haystack for word in self.query):
                return False
        return True
