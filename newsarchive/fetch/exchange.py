"""What one HTTP fetch was, independent of Scrapy or Playwright.

Both the Scrapy middleware and the browser capture build an :class:`Exchange`
and hand it to the writer service, so the WARC code never imports Scrapy.
"""

from __future__ import annotations

import http
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from newsarchive.fetch.spool import Spool

# Headers that describe the transfer, not the resource. Scrapy (Twisted) hands us
# the body with the chunk framing already removed, so keeping
# "Transfer-Encoding: chunked" would label a de-chunked body as chunked -- the
# record would not parse (pywb issue #584). We drop it and say so in a WARC
# header, as httrack2warc and others do.
TRANSFER_HEADERS = (b"transfer-encoding",)


@dataclass
class Exchange:
    """One request and the response to it, with the body as the server sent it.

    ``body`` is the entity body after transfer decoding and *before* content
    decoding: a gzip-encoded page stays gzip-encoded, with its header. A large
    body comes as a ``spool`` instead (``body`` is then empty), streamed into
    its record by the writer.
    """

    url: str
    method: str
    request_headers: list[tuple[bytes, bytes]]
    status: int
    response_headers: list[tuple[bytes, bytes]]
    body: bytes
    fetched_at: datetime
    protocol: str = "HTTP/1.1"
    reason: str | None = None
    request_body: bytes = b""
    ip_address: str | None = None
    warc_headers: dict[str, str] = field(default_factory=dict)
    record_id: str | None = None  # assigned by the service when queued
    mark: str | None = None  # handed to the writer's on_written once the records are on disk
    spool: Spool | None = None  # the body, when it was too large to hold in memory
    #: a conditional request's: the payload digest of the capture its validators came from
    #: (a ``304`` answer becomes a server-not-modified revisit of that capture)
    not_modified_digest: str | None = None
    #: the body's payload digest, when its producer took it already (the writer then
    #: does not hash the body again); must be cleared if the body is changed
    payload_digest: str | None = None

    @property
    def body_size(self) -> int:
        """Length of the body, wherever it is."""
        return self.spool.size if self.spool is not None else len(self.body)

    def status_line(self) -> str:
        """The response status line, with a standard reason phrase if none was kept."""
        reason = self.reason
        if reason is None:
            try:
                reason = http.HTTPStatus(self.status).phrase
            except ValueError:
                reason = ""
        return f"{self.protocol} {self.status} {reason}".rstrip()

    def stored_response_headers(self) -> tuple[list[tuple[str, str]], list[str]]:
        """Response headers as they go into the record, and the transfer codings removed."""
        kept: list[tuple[str, str]] = []
        removed: list[str] = []
        for name, value in self.response_headers:
            if name.lower() in TRANSFER_HEADERS:
                removed.append(value.decode("latin-1"))
                continue
            kept.append((name.decode("latin-1"), value.decode("latin-1")))
        return kept, removed
