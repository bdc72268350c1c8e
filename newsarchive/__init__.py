"""newsarchive: crawl news sites into WARC files, with clean-text sidecars.

The package is laid out by stage of the flow: ``discover`` (sitemaps, feeds,
URL canonicalisation), ``fetch`` (Scrapy and Playwright), ``capture`` (WARC
records), ``store`` (local folder, S3), ``extract`` (sidecars), ``index``
(CDXJ, catalog), ``replay`` (pywb), ``export`` (JSONL, CSV, Parquet, WACZ),
plus ``demosite`` (the bundled local news site) and ``cli``.
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from newsarchive.api import Collection

__version__ = "0.1.0"
SOFTWARE = f"newsarchive/{__version__}"


def open(  # noqa: A001 - newsarchive.open(COLLECTION), as the issue's API asks
    location: str | PathLike[str], *, endpoint_url: str | None = None, region: str | None = None
) -> Collection:
    """Open a collection folder or ``s3://`` store: see :func:`newsarchive.api.open_collection`."""
    from newsarchive.api import open_collection

    return open_collection(location, endpoint_url=endpoint_url, region=region)
