"""The item pipeline that writes a sidecar for every archived article page.

The sidecar goes to the WARC writer service, which fills in where the page's
response record lies and writes it both to ``sidecars/NAME.sidecars.jsonl.gz``
and as a ``metadata`` record referring to the response. A page that cannot be
extracted is logged and counted; it never stops the crawl.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured

from newsarchive.exceptions import NewsarchiveError
from newsarchive.fetch.items import PageItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class SidecarPipeline:
    """Extracts :class:`PageItem` pages into sidecars (``SIDECAR_ENABLED``)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SidecarPipeline:
        """Enabled by ``SIDECAR_ENABLED`` when WARC capture is on."""
        if not crawler.settings.getbool("SIDECAR_ENABLED"):
            raise NotConfigured("SIDECAR_ENABLED is off")
        if not crawler.settings.getbool("WARC_ENABLED"):
            raise NotConfigured("sidecars need WARC capture (WARC_ENABLED)")
        return cls(crawler)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        """Extract the page; queue its sidecar if it is an article."""
        if not isinstance(item, PageItem) or item.record_id is None or item.status != 200:
            return item
        service = getattr(self.crawler, "warc_service", None)
        if service is None:
            return item
        from newsarchive.extract import extract_sidecar  # lazy: heavy imports

        try:
            sidecar = extract_sidecar(
                item.body, item.url, content_type=item.content_type, fetched_at=item.fetched_at
            )
        except NewsarchiveError as exc:
            self.stats.inc_value("sidecar/errors")
            logger.warning("no sidecar for %s: %s", item.url, exc)
            return item
        except Exception:
            self.stats.inc_value("sidecar/errors")
            logger.exception("extraction failed on %s", item.url)
            return item
        if sidecar.get("is_article") is False:
            self.stats.inc_value("sidecar/not_article")
            return item
        if item.rendered:
            sidecar["rendered"] = True
        service.submit_sidecar(item.record_id, sidecar)
        self.stats.inc_value("sidecar/written")
        return item
