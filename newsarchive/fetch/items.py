"""Items the spiders yield."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class PageItem:
    """An HTML page that was archived; the sidecar pipeline extracts it."""

    url: str
    status: int
    body: bytes
    content_type: str | None
    record_id: str | None
    fetched_at: datetime | None
    rendered: bool = False
