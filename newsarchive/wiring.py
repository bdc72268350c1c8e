"""One crawl's shared services, in one typed object handed to the components.

A crawl's components need each other: the capture middleware, the render
handler, the fetch-outcome and egress middlewares and the sidecar pipeline all
hand records to the WARC writer; the incremental middlewares and the spider
share the crawl state; the render-mode middleware calls the render handler;
the browser and the egress middleware share the egress policy; the crawl's
stop rules reach the writer and the sidecar workers.

:func:`newsarchive.crawl.crawl_settings` creates one :class:`CrawlWiring`
per crawl and puts it in the settings the crawler is created with
(:data:`WIRING_SETTING`); each component's ``from_crawler`` takes it from
there (:func:`wiring_of`). The component that owns a service fills its slot
when Scrapy builds it (the capture middleware sets ``capture``, the sidecar
pipeline ``sidecars``...); the others read the slot, typed, when they need it.
Nothing is set on, or read from, the Scrapy crawler object.

The slots are typed by the narrow interfaces an earlier stage may rely on
(:class:`Archive`...), so fetch and discover call the WARC writer without
importing the capture stage (tests/test_architecture.py).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

#: the settings key holding the crawl's :class:`CrawlWiring`
WIRING_SETTING = "NEWSARCHIVE_WIRING"


class Archive(Protocol):
    """What the crawl hands to the WARC writer (:class:`~newsarchive.capture.service.WarcWriterService`)."""

    def submit(self, exchange: Any) -> Any:
        """Queue an exchange; its ticket (record id, later its location)."""

    def submit_record(self, uri: str, refers_to: str, payload: bytes, content_type: str,
                      record_type: str) -> None:
        """Queue a ``resource``/``metadata`` record referring to another."""

    def submit_sidecar(self, record_id: str, sidecar: dict[str, Any]) -> None:
        """Queue a page's sidecar."""

    def log_failure(self, code: int, url: str, kind: str, reason: str) -> None:
        """A ``crawl.log`` line for a fetch that archived nothing."""

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything queued is written."""

    def adopt(self, page: Any) -> None:
        """A reconciled page is being extracted again in this run."""

    def settle(self) -> None:
        """Every page of an earlier run has its sidecar again."""

    def abandoned(self) -> None:
        """Some page of this run gets no sidecar in it (the next start extracts it)."""

    def abort(self, timeout: float = ...) -> None:
        """Stop at once: finish the record being written, close the files."""

    #: what the start-up reconcile scan found (pages without a sidecar...)
    reconciled: Any


class SidecarWorkers(Protocol):
    """The crawl's extraction workers (:class:`~newsarchive.extract.pipeline.SidecarPipeline`)."""

    def stop_soon(self) -> None:
        """Extract nothing more in this run."""

    def abort(self) -> None:
        """Stop at once: drop pending pages, kill the workers."""


class Renderer(Protocol):
    """The browser download handler (:class:`~newsarchive.fetch.render.handler.RenderDownloadHandler`)."""

    async def download_request(self, request: Any) -> Any:
        """Render (or fetch) one request."""


class Indexer(Protocol):
    """The index worker (:class:`~newsarchive.index.extension.IndexExtension`)."""

    def join(self) -> None:
        """Wait until every file queued so far is indexed."""


@dataclass(eq=False)
class CrawlWiring:
    """The services of one crawl (see the module docstring); a slot is None until
    its owner is built, and stays None when that component is switched off."""

    #: the WARC writer thread (capture middleware; ``WARC_ENABLED``)
    capture: Archive | None = None
    # The two services of the discover stage, the first one, are typed where
    # they are read: the wiring, shared by every stage, imports none of them.
    #: the crawl state (discover.state.CrawlState), opened by the incremental
    #: middlewares (``STATE_ENABLED``)
    state: Any | None = None
    #: the egress policy (discover.egress.EgressPolicy), built from the spider's
    #: URLs on first use (fetch.egress_scrapy)
    egress: Any | None = None
    #: URLs whose refusal is already logged (once per URL and crawl)
    egress_logged: OrderedDict[str, None] = field(default_factory=OrderedDict)
    #: the browser's egress proxy, started with the first rendered page (fetch.egress_browser)
    egress_browser: Any | None = None
    #: the sidecar pipeline's workers (``SIDECAR_ENABLED``)
    sidecars: SidecarWorkers | None = None
    #: the browser download handler (``DOWNLOAD_HANDLERS``)
    renderer: Renderer | None = None
    #: the index worker (``INDEX_ENABLED``), which the uploader waits for
    indexer: Indexer | None = None
    # Parts of later stages the capture stage works with, handed in by the crawl
    # (newsarchive.crawl) so the capture stage imports neither:
    #: a running digest of each closed file, recorded for the uploader (store.digest.RunningDigest)
    file_digest: Callable[[], Any] | None = None
    #: reads a WARC's archived HTML pages, for the reconcile scan (extract.archive.PageReader)
    read_pages: Callable[[BinaryIO, str], Iterable[Any]] | None = None

    # Scrapy copies its settings (deepcopy) into each crawler: every copy must
    # hold this same object, or the components would not share their services.
    def __deepcopy__(self, memo: dict[int, Any]) -> CrawlWiring:
        return self

    def __copy__(self) -> CrawlWiring:
        return self

    def __repr__(self) -> str:  # Scrapy logs overridden settings
        filled = [name for name in ("capture", "state", "egress", "sidecars", "renderer", "indexer")
                  if getattr(self, name) is not None]
        return f"CrawlWiring({', '.join(filled) or 'empty'})"


_UNWIRED: weakref.WeakKeyDictionary[Any, CrawlWiring] = weakref.WeakKeyDictionary()


def wiring_of(crawler: Crawler) -> CrawlWiring:
    """The wiring the crawler was created with (:data:`WIRING_SETTING`).

    A crawler created without one -- a test's ``get_crawler()``, a tool's own
    ``CrawlerProcess`` -- gets a wiring of its own on first use, shared by its
    components like any other.
    """
    wiring = crawler.settings.get(WIRING_SETTING)
    if isinstance(wiring, CrawlWiring):
        return wiring
    found = _UNWIRED.get(crawler)
    if found is None:
        found = _UNWIRED[crawler] = CrawlWiring()
    return found
