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

    @property
    def active(self) -> bool:
        """Whether any condition is set (else every article passes)."""
        return bool(self.since or self.until or self.domains or self.languages or self.query)

    def mask(self, table: Any) -> Any:
        """A boolean array: which rows of an export table (see
        :mod:`newsarchive.export.batches`) pass every condition."""
        import pyarrow as pa
        import pyarrow.compute as pc

        keep = pa.array([True] * table.num_rows, pa.bool_())
        if self.since or self.until:
            day = pc.cast(table[self.date_field], pa.date32())
            if self.since:
                keep = pc.and_(keep, pc.fill_null(pc.greater_equal(day, self.since), False))
            if self.until:
                keep = pc.and_(keep, pc.fill_null(pc.less_equal(day, self.until), False))
        if self.domains:
            host = pc.fill_null(table["host"], "")
            hit = None
            for d in self.domains:
                one = pc.or_(pc.equal(host, d), pc.ends_with(host, "." + d))
                hit = one if hit is None else pc.or_(hit, one)
            keep = pc.and_(keep, hit)
        if self.languages:
            lang = pc.utf8_lower(pc.fill_null(table["language"], ""))
            declared = pc.utf8_lower(pc.fill_null(table["language_declared"], ""))
            hit = None
            for code in self.languages:
                # "en" is the primary tag every export has; "en-us" asks for the declared tag
                one = (pc.equal(lang, code) if "-" not in code else
                       pc.or_(pc.equal(declared, code), pc.starts_with(declared, code + "-")))
                hit = one if hit is None else pc.or_(hit, one)
            keep = pc.and_(keep, hit)
        if self.query:
            title = pc.fill_null(table["title"], "")
            text = pc.fill_null(table["text"], "")
            for word in self.query:
                found = pc.or_(pc.match_substring(title, word, ignore_case=True),
                               pc.match_substring(text, word, ignore_case=True))
                keep = pc.and_(keep, found)
        return keep
