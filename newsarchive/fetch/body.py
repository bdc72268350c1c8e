"""Reading response bodies: spooled to disk when large, cut bodies kept and labelled.

Scrapy's HTTP/1.1 handler (``scrapy.core.downloader.handlers.http11``) drops
a body it cannot finish: over ``DOWNLOAD_MAXSIZE`` the download is cancelled,
past ``DOWNLOAD_TIMEOUT`` it raises, and a connection lost before the
announced length raises ``ResponseDataLossError`` -- the bytes received are
gone, and nothing is archived. It also holds every body whole in memory.
WARC 1.1 says to keep such bodies, marked ``WARC-Truncated: length``,
``time`` or ``disconnect``. This module's agent does what Scrapy's does, but:

- the body goes into a :class:`~newsarchive.fetch.spool.Spool` (memory up to
  ``FETCH_SPOOL_MEMORY``, then an unlinked file), and the capture middleware
  streams a spilled one into its record;
- at ``DOWNLOAD_MAXSIZE`` the body is cut, the connection dropped, and the
  response delivered flagged ``truncated:length``; past ``DOWNLOAD_TIMEOUT``
  with the headers in, the bytes so far are delivered flagged
  ``truncated:time``; a disconnect before the announced end is delivered
  flagged ``truncated:disconnect`` (and ``dataloss``, Scrapy's flag);
- the Scrapy response holds at most ``FETCH_PARSE_MAXSIZE`` bytes of the body
  (flag ``na_body_cut`` when it holds fewer than were archived): what the
  spider and extraction read is bounded whatever the site sends.

Each cut is counted in the stats (``fetch/truncated/REASON``). Scrapy's
private agent is subclassed, as :mod:`newsarchive.fetch.wire` does for its
parser; ``Scrapy`` is pinned, and ``tests/test_fetch_body.py`` runs each case
against a real server.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from scrapy import signals
from scrapy.core.downloader.handlers.http11 import _ResponseReader, _ScrapyAgent
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils._compression import _DecompressionMaxSizeExceeded
from scrapy.utils._download_handlers import check_stop_download, wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.iweb import UNKNOWN_LENGTH

from newsarchive import meta
from newsarchive.fetch.spool import Spool
from newsarchive.fetch.wire import WireHeadersDownloadHandler
from newsarchive.layout import Layout

if TYPE_CHECKING:
    from scrapy.core.downloader.handlers.http11 import _ResultT
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from twisted.web.client import Response as TxResponse

logger = logging.getLogger(__name__)

SPOOL_META = meta.BODY_SPOOL
TRUNCATED_FLAG = "truncated:"  # response flag prefix: truncated:length|time|disconnect
SIZE_META = meta.BODY_SIZE
CUT_FLAG = meta.BODY_CUT_FLAG


def truncation(flags: list[str]) -> str | None:
    """The ``WARC-Truncated`` reason a response's flags carry, if any."""
    for flag in flags:
        if flag.startswith(TRUNCATED_FLAG):
            return flag[len(TRUNCATED_FLAG) :]
    return None


class _SpoolReader(_ResponseReader):
    """Scrapy's body reader, writing into a spool and keeping what a cut leaves."""

    def __init__(self, *args: Any, spool: Spool, on_cut: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spool = spool
        self.on_cut = on_cut

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 (Twisted's naming)
        if self._finished.called:
            return
        room = self._maxsize - self.spool.size if self._maxsize else len(data)
        self.spool.write(data if room >= len(data) else data[: max(room, 0)])
        self._bytes_received = self.spool.size
        if stop := check_stop_download(signals.bytes_received, self._crawler, self._request, data=data):
            self.transport.stopProducing()  # type: ignore[union-attr]
            self.transport.loseConnection()  # type: ignore[union-attr, misc]
            self._finish_response(stop_download=stop)
            return
        if room < len(data):
            logger.warning(
                "%s: body cut at %d bytes (DOWNLOAD_MAXSIZE); archived with WARC-Truncated: length",
                self._request.url, self._maxsize,
            )
            self._finished.callback(self.cut("length"))
            with suppress(Exception):
                self._txresponse._transport._producer.abortConnection()  # type: ignore[attr-defined]

    def result(self, flags: list[str] | None = None, stop_download: Any = None) -> _ResultT:
        """What the agent makes the response of; the body is in the spool."""
        return {
            "txresponse": self._txresponse,
            "body": b"",  # filled from the spool by _KeepingAgent._cb_bodydone
            "flags": flags,
            "certificate": self._certificate,
            "ip_address": self._ip_address,
            "stop_download": stop_download,
        }

    def cut(self, reason: str) -> _ResultT:
        """The result for a body cut by ``reason`` (length, time, disconnect), counted."""
        self.on_cut(reason)
        flags = [TRUNCATED_FLAG + reason]
        if reason == "disconnect":
            flags.append("dataloss")
        return self.result(flags)

    def _finish_response(self, flags: list[str] | None = None, stop_download: Any = None) -> None:
        self._finished.callback(self.result(flags, stop_download))

    def connectionLost(self, reason: Failure = connectionDone) -> None:  # noqa: N802
        if self._finished.called:
            return
        if reason.check(ResponseDone):
            self._finish_response()
        elif reason.check(PotentialDataLoss):  # no length announced: the close ends the body
            self._finish_response(flags=["partial"])
        else:  # lost before the announced end
            logger.warning(
                "%s: connection lost after %d bytes; archived with WARC-Truncated: disconnect",
                self._request.url, self.spool.size,
            )
            self._finished.callback(self.cut("disconnect"))


class _KeepingAgent(_ScrapyAgent):
    """Scrapy's agent with :class:`_SpoolReader`; a timeout keeps the body read so far."""

    def __init__(self, *, spool_memory: int, parse_max: int, spool_dir: Path | None,
                 stats: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spool_memory = spool_memory
        self.parse_max = parse_max
        self.spool_dir = spool_dir
        self.stats = stats
        self._reader: _SpoolReader | None = None
        self._request: Request | None = None

    def _count_cut(self, reason: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"fetch/truncated/{reason}")

    def download_request(self, request: Request) -> Deferred[Response]:
        self._request = request
        return super().download_request(request)

    def _cb_bodyready(self, txresponse: TxResponse, request: Request) -> Any:
        if stop := check_stop_download(
            signals.headers_received, self._crawler, request,
            headers=self._headers_from_twisted_response(txresponse), body_length=txresponse.length,
        ):
            txresponse._transport.stopProducing()  # type: ignore[attr-defined]
            txresponse._transport.loseConnection()  # type: ignore[attr-defined]
            return {"txresponse": txresponse, "stop_download": stop}
        if cast("int", txresponse.length) == 0:  # deliverBody hangs for responses without body
            return {
                "txresponse": txresponse,
                "certificate": getattr(txresponse, "_scrapy_certificate", None),
                "ip_address": getattr(txresponse, "_scrapy_ip_address", None),
            }
        maxsize = request.meta.get("download_maxsize", self._maxsize)
        warnsize = request.meta.get("download_warnsize", self._warnsize)
        expected = cast("int", txresponse.length) if txresponse.length != UNKNOWN_LENGTH else -1
        if maxsize and expected > maxsize:
            logger.info("%s announces %d bytes; the first %d (DOWNLOAD_MAXSIZE) will be archived",
                        request.url, expected, maxsize)
        d: Deferred[Any] = Deferred(lambda _: self._cancel(_, txresponse))
        reader = _SpoolReader(
            finished=d, txresponse=txresponse, request=request, maxsize=maxsize,
            warnsize=warnsize, fail_on_dataloss=False, crawler=self._crawler,
            reached_warnsize=bool(warnsize and expected > warnsize),
            tls_verbose_logging=self._tls_verbose_logging,
            spool=Spool(self.spool_memory, self.spool_dir), on_cut=self._count_cut,
        )
        self._reader = reader
        txresponse.deliverBody(reader)
        self._txresponse = txresponse
        return d

    def _cb_timeout(self, result: Any, request: Request, url: str, timeout: float) -> Any:
        reader = self._reader
        timed_out = not self._timeout_cl.active()  # type: ignore[misc]  # zope interface attribute
        if timed_out and reader is not None and isinstance(result, Failure) and result.check(CancelledError):
            # The headers came, the body did not finish in time: keep what came.
            logger.warning("%s: body not finished after %g s (DOWNLOAD_TIMEOUT); archived with "
                           "WARC-Truncated: time", url, timeout)
            if self._txresponse is not None:
                self._txresponse._transport.stopProducing()  # type: ignore[attr-defined]
            return self._cb_bodydone(reader.cut("time"), url)
        return super()._cb_timeout(result, request, url, timeout)

    def _cb_bodydone(self, result: Any, url: str) -> Response:
        reader = self._reader
        if reader is not None and "body" in result:
            spool = reader.spool
            assert self._request is not None
            self._request.meta[SIZE_META] = spool.size
            if spool.spilled:
                result["body"] = spool.head(self.parse_max)
                self._request.meta[SPOOL_META] = spool
            else:
                result["body"] = spool.getvalue()
                spool.close()
            if len(result["body"]) > self.parse_max:
                result["body"] = result["body"][: self.parse_max]
            if len(result["body"]) < spool.size:
                result["flags"] = [*(result.get("flags") or ()), CUT_FLAG]
        return super()._cb_bodydone(result, url)


class KeepingDownloadHandler(WireHeadersDownloadHandler):
    """Scrapy's HTTP/1.1 handler (with the wire headers), keeping cut bodies (see the module docstring)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        s = crawler.settings
        self._spool_memory = s.getint("FETCH_SPOOL_MEMORY")
        self._parse_max = s.getint("FETCH_PARSE_MAXSIZE")
        warc_dir = s.get("WARC_DIR")
        self._spool_dir = Layout(Path(warc_dir)).tmp_dir if warc_dir else None

    async def download_request(self, request: Request) -> Response:
        """Download ``request``; a cut body comes back flagged instead of raising."""
        agent = _KeepingAgent(
            contextFactory=self._contextFactory,
            bindAddress=self._bind_address,
            pool=self._pool,
            maxsize=self._default_maxsize,
            warnsize=self._default_warnsize,
            fail_on_dataloss=False,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
            spool_memory=self._spool_memory,
            parse_max=self._parse_max,
            spool_dir=self._spool_dir,
            stats=self._crawler.stats,
        )
        with wrap_twisted_exceptions():
            return await maybe_deferred_to_future(agent.download_request(request))


class _OverParseCap(Exception):
    """A body decoded past FETCH_PARSE_MAXSIZE (caught in this module)."""


class BoundedHttpCompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's content decoding, bounded by ``FETCH_PARSE_MAXSIZE``, failing in one line.

    Scrapy's middleware decodes up to ``DOWNLOAD_MAXSIZE``, which here is
    the archive's cap (a gzip bomb would be inflated to it in memory), and
    a body that does not decode (a gzip header on a plain body) ends in a
    traceback. Here the decoded body is capped at what the spider may read,
    and either failure is a warning naming the page, a count in
    ``fetch/undecodable`` and an ignored response: the body is archived as
    sent (the capture middleware ran first), it is just not parsed.
    """

    def __init__(self, stats: Any = None, *, crawler: Crawler | None = None) -> None:
        super().__init__(crawler=crawler)
        if crawler is not None:
            self._max_size = crawler.settings.getint("FETCH_PARSE_MAXSIZE")

    def _handle_encoding(self, body: bytes, content_encoding: list[bytes], max_size: int) -> Any:
        try:
            return super()._handle_encoding(body, content_encoding, max_size)
        except _DecompressionMaxSizeExceeded as exc:  # past Scrapy's handler: its warning names the wrong setting
            raise _OverParseCap from exc

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        """Decode as Scrapy does; a body over the cap or not decodable is ignored, counted."""
        try:
            return super().process_response(request, response)
        except _OverParseCap as exc:
            why = "decodes to more than FETCH_PARSE_MAXSIZE"
            cause: Exception = exc
        except Exception as exc:  # zlib.error, OSError, EOFError, brotli's errors...
            why = "does not decode"
            cause = exc
        if self.stats:
            self.stats.inc_value("fetch/undecodable")
        codings = b", ".join(response.headers.getlist("Content-Encoding")).decode("latin-1")
        detail = "" if isinstance(cause, _OverParseCap) else f" ({type(cause).__name__})"
        msg = f"{response.url}: its {codings} body {why}{detail}; archived as sent, not parsed"
        logger.warning("%s", msg)
        raise IgnoreRequest(msg) from None
