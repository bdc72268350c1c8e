"""Scrapy settings of newsarchive: every setting's default, in one place.

Each component has its own prefix (``WARC_*`` for capture, ``STORE_*`` for
storage, ``SIDECAR_*`` for extraction, ``RENDER_*`` for the browser, ...).
The CLI overlays a site file and command-line options on top of these.
"""

from __future__ import annotations

from newsarchive import __version__

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# --- Politeness -------------------------------------------------------------
USER_AGENT = f"newsarchive/{__version__} (+https://github.com/newsarchive/newsarchive)"
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = False  # the crawl command turns it on for sites on the internet
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_TIMEOUT = 60
RETRY_TIMES = 2
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"

# --- Capture: WARC records (newsarchive.capture) ------------------------------
DOWNLOADER_MIDDLEWARES = {
    # Sits between the downloader and HttpCompressionMiddleware (590), so it sees
    # every response -- redirect hops included -- with the body still as sent.
    "newsarchive.capture.middleware.WarcCaptureMiddleware": 950,
}
WARC_ENABLED = True
WARC_DIR = "archive"  # the collection folder; WARC files go to WARC_DIR/warc/
WARC_PREFIX = "newsarchive"  # first part of IIPC-style file names
WARC_MAX_SIZE = 1_000_000_000  # rotate to a new file past this many bytes
WARC_GZIP_LEVEL = 6  # zlib level; 9 (warcio's) costs 40% of throughput for ~3% size
WARC_OPERATOR = ""  # who runs the crawl, for the warcinfo record
WARC_DEDUP = True  # identical payloads become revisit records
WARC_QUEUE_SIZE = 256  # records waiting for the writer thread before the crawl waits
WARC_FSYNC = "close"  # "record" (every record), "close" (each file) or "never"

# --- Extract: sidecars (newsarchive.extract) -----------------------------------
ITEM_PIPELINES = {
    "newsarchive.extract.pipeline.SidecarPipeline": 300,
}
SIDECAR_ENABLED = True  # write a sidecar for every archived article page

# --- Fetch: progress line (newsarchive.fetch.progress) -----------------------------
EXTENSIONS = {
    "newsarchive.fetch.progress.ProgressExtension": 100,
    # Before the uploader (500): indexes a WARC while it is still on disk.
    "newsarchive.index.extension.IndexExtension": 400,
    "newsarchive.store.extension.UploadExtension": 500,  # off unless STORE_URI is s3://
}
PROGRESS_ENABLED = False  # the CLI turns it on; a live line on stderr
PROGRESS_INTERVAL = 1.0  # seconds between updates

# --- Store: upload closed files to S3 (newsarchive.store) -------------------------
STORE_URI = ""  # s3://BUCKET/PREFIX/COLLECTION to upload; "" keeps files in WARC_DIR only
STORE_ENDPOINT_URL = ""  # S3-compatible endpoint (MinIO, Ceph, R2); "" = AWS or boto3 config
STORE_REGION = ""  # "" = boto3's standard chain (AWS_REGION, ~/.aws/config)
STORE_PART_SIZE = 16 * 1024 * 1024  # multipart part size in bytes (S3 minimum: 5 MiB)
STORE_CONCURRENCY = 8  # parts of one file in flight at once
STORE_KEEP_LOCAL = False  # keep local copies after a verified upload
STORE_MAX_ATTEMPTS = 10  # tries per S3 request (botocore standard retry mode, backoff)
STORE_RETRIES = 4  # further tries per file after that, with STORE_RETRY_BACKOFF doubling
STORE_RETRY_BACKOFF = 2.0  # seconds before the first per-file retry
STORE_TIMEOUT = 60.0  # connect/read timeout of each S3 request, in seconds
SIDECAR_WORKERS = -1  # extraction processes beside the crawl; -1: one if there are 2+ cores

# --- Index: CDXJ indexes and the Parquet catalog (newsarchive.index) ----------------
INDEX_ENABLED = True  # write DIR/indexes/NAME.cdxj as each WARC file closes
INDEX_CATALOG = True  # and DIR/catalog/collection=NAME/date=D/part-NAME.parquet
