"""IIPC-style WARC file names: ``PREFIX-TIMESTAMP-SERIAL-HOST.warc.gz``."""

from __future__ import annotations

from newsarchive.layout import OPEN_SUFFIX, WARC_GZ

__all__ = ["OPEN_SUFFIX", "NAME_RE", "safe_host", "timestamp17", "warc_name"]

import re
import socket
from datetime import UTC, datetime

NAME_RE = re.compile(
    r"^(?P<prefix>.+)-(?P<timestamp>\d{17})-(?P<serial>\d{5})-(?P<host>[^/]+)\.warc\.gz$"
)


def timestamp17(when: datetime) -> str:
    """``YYYYMMDDhhmmssfff`` in UTC, as Heritrix names its files."""
    when = when.astimezone(UTC)
    return when.strftime("%Y%m%d%H%M%S") + f"{when.microsecond // 1000:03d}"


def safe_host() -> str:
    """This machine's name, safe for a file name."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "localhost"


def warc_name(prefix: str, when: datetime, serial: int, host: str | None = None) -> str:
    """The file name of the ``serial``-th WARC file of a crawl."""
    return f"{prefix}-{timestamp17(when)}-{serial:05d}-{host or safe_host()}{WARC_GZ}"


def parse_warc_name(name: str) -> dict[str, str] | None:
    """Split a WARC file name into its parts, or None if it is not ours."""
    m = NAME_RE.match(name)
    return m.groupdict() if m else None
