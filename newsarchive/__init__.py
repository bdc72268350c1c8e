"""newsarchive: crawl news sites into WARC files, with clean-text sidecars.

The package is laid out by stage of the flow: ``discover`` (sitemaps, feeds,
URL canonicalisation), ``fetch`` (Scrapy and Playwright), ``capture`` (WARC
records), ``store`` (local folder, S3), ``extract`` (sidecars), ``index``
(CDXJ, catalog), ``replay`` (pywb), ``export`` (JSONL, CSV, Parquet, WACZ),
plus ``demosite`` (the bundled local news site) and ``cli``.
"""

__version__ = "0.1.0"
SOFTWARE = f"newsarchive/{__version__}"
