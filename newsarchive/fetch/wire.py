"""Keeping the connection headers Twisted strips, so records show them.

Twisted's HTTP client files ``Transfer-Encoding``, ``Connection`` and
``Keep-Alive`` under connection-control headers and hands Scrapy the rest
(Scrapy re-adds ``Content-Length`` itself). A response record built from
Scrapy's headers would therefore not say that a page came chunked. This
parser puts those headers back on the response; the capture middleware then
stores ``Connection``/``Keep-Alive`` as sent and replaces ``Transfer-Encoding``
with a WARC header, since the body it has is already de-chunked.

It plugs in the way Scrapy plugs its own lenient parser in: a connection
pool factory whose protocol swaps the parser class (see
``scrapy.core.downloader.handlers.http11._LenientHTTP11ClientProtocol``).
"""

from __future__ import annotations

from typing import Any

from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
)

WIRE_HEADERS = (b"Transfer-Encoding", b"Connection", b"Keep-Alive")


class _WireHeadersParser(_LenientHTTPClientParser):
    def allHeadersReceived(self) -> None:  # noqa: N802 (Twisted's naming)
        response = getattr(self, "response", None)
        if response is not None:
            for name in WIRE_HEADERS:
                values = self.connHeaders.getRawHeaders(name)
                if values:
                    response.headers.setRawHeaders(name, values)
        super().allHeadersReceived()  # type: ignore[no-untyped-call]


class _WireHeadersProtocol(_LenientHTTP11ClientProtocol):
    def request(self, request: Any) -> Any:
        d = super().request(request)
        # Same class swap as Scrapy's: the subclass adds no state.
        self._parser.__class__ = _WireHeadersParser
        return d


class _WireHeadersFactory(_LenientHTTP11ClientFactory):
    def buildProtocol(self, addr: Any) -> _WireHeadersProtocol:  # noqa: N802
        return _WireHeadersProtocol(self._quiescentCallback)  # type: ignore[no-untyped-call]


def keep_wire_headers(handler: HTTP11DownloadHandler) -> None:
    """Make ``handler``'s connections report the connection headers too."""
    handler._pool._factory = _WireHeadersFactory


class WireHeadersDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 download handler, keeping the connection headers."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        keep_wire_headers(self)
