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
# Outputs of one callback (its item, its links) handled at once. Scrapy's 100
# starts 101 asyncio tasks per response: ~1.2 ms of CPU each time, against
# 0.25 ms for 16 (a news page yields one item; the rest are quick requests).
CONCURRENT_ITEMS = 16
DOWNLOAD_TIMEOUT = 60
RETRY_TIMES = 2
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
# Scrapy re-reads and parses a generator callback's source for every response
# (its cache is keyed by the bound method, new per request): ~3 ms a page.
WARN_ON_GENERATOR_RETURN_VALUE = False

# --- Fetch: the egress policy (newsarchive.discover.egress) ---------------------------
# Every fetch, Scrapy's and the browser's, may connect only to public addresses
# and to the origins of the crawl's own start URLs (docs/site-file.md, allow:).
EGRESS_ENABLED = True  # refuse loopback, private, link-local, CGNAT, ULA, multicast, reserved addresses
EGRESS_ALLOW: list[str] = []  # also allow these origins (http://10.0.0.5:8080) or networks (10.20.0.0/16)

CLOSESPIDER_BYTES = 0  # stop a crawl past this many bytes downloaded (newsarchive.fetch.limits)

# --- Fetch: response bodies (newsarchive.fetch.body) ---------------------------------
# A body cut by DOWNLOAD_MAXSIZE, DOWNLOAD_TIMEOUT or a disconnect is archived
# with WARC-Truncated (length, time, disconnect) and counted, not dropped.
DOWNLOAD_MAXSIZE = 256 * 1024 * 1024  # Scrapy's; bytes of a body archived, the rest cut (WARC-Truncated: length)
FETCH_PARSE_MAXSIZE = 32 * 1024 * 1024  # bytes of a body (as sent, then decoded) the spider and extraction read
FETCH_SPOOL_MEMORY = 1024 * 1024  # a body past this many bytes is spooled to WARC_DIR/tmp and streamed into its record

# --- Discover: incremental re-crawls (newsarchive.discover.incremental) -------------
# Durations in seconds; -1 means never (for the max age: no limit); 0 every run.
# Robots.txt, sitemaps, feeds and fronts are fetched on every run regardless.
STATE_ENABLED = True  # skip URLs the collection holds that are not due for a revisit
STATE_DB = ""  # the crawl state; "" = WARC_DIR/state/crawl.sqlite
STATE_REVISIT_ARTICLE_MAX_AGE = 2 * 86400  # re-check articles younger than this...
STATE_REVISIT_ARTICLE_EVERY = 6 * 3600  # ...at most this often
STATE_REVISIT_PAGE_EVERY = 3600  # other HTML pages (tags, authors, unlisted sections)
STATE_REVISIT_EMBED_EVERY = 86400  # images, stylesheets, scripts
STATE_CONDITIONAL = True  # re-checks send If-None-Match/If-Modified-Since; a 304 is a revisit

# --- Capture: WARC records (newsarchive.capture) ------------------------------
DOWNLOADER_MIDDLEWARES = {
    # Sits between the downloader and HttpCompressionMiddleware (590), so it sees
    # every response -- redirect hops included -- with the body still as sent.
    "newsarchive.capture.middleware.WarcCaptureMiddleware": 950,
    # Incremental crawls (newsarchive.discover.incremental): drop known, not-due
    # URLs right after robots.txt (100); record responses with the body as sent.
    "newsarchive.discover.incremental.IncrementalFilterMiddleware": 110,
    "newsarchive.discover.incremental.IncrementalRecordMiddleware": 945,
    # RENDER_MODE (newsarchive.fetch.render): after HttpCompressionMiddleware (590)
    # so it reads decoded HTML of the plain fetch the capture middleware archived.
    "newsarchive.fetch.render.middleware.RenderModeMiddleware": 580,
    # Scrapy's content decoding, capped at FETCH_PARSE_MAXSIZE (newsarchive.fetch.body).
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "newsarchive.fetch.body.BoundedHttpCompressionMiddleware": 590,
    # Just below RetryMiddleware (550): sees each request's final outcome
    # (newsarchive.fetch.outcomes), counts failures, logs them to crawl.log.
    "newsarchive.fetch.outcomes.FetchOutcomeMiddleware": 540,
    # EGRESS_* (newsarchive.discover.egress): before the offsite filter (50) and
    # robots.txt (100), so a refused URL costs no robots.txt fetch either.
    "newsarchive.fetch.egress_scrapy.EgressMiddleware": 40,
    # Scrapy's redirects, the same places, counting a chain cut at REDIRECT_MAX_TIMES
    # as a failed fetch (newsarchive.fetch.traps).
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "newsarchive.fetch.traps.CountedRedirectMiddleware": 600,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "newsarchive.fetch.traps.CountedMetaRefreshMiddleware": 580,
}
FETCH_OUTCOMES_ENABLED = True  # count failed/refused requests by kind; crawl.log lines for them
CRAWL_STOP_GRACE = 6.0  # seconds a stop on the first Ctrl-C/SIGTERM may take before stopping at once
WARC_ENABLED = True
WARC_DIR = "archive"  # the collection folder; WARC files go to WARC_DIR/warc/
WARC_PREFIX = "newsarchive"  # first part of IIPC-style file names
WARC_HOST = ""  # last part of the file names; "" = this machine's name (a frontier worker: HOST-wN)
WARC_MAX_SIZE = 1_000_000_000  # rotate to a new file past this many bytes
WARC_GZIP_LEVEL = 6  # zlib level; 9 (warcio's) costs 40% of throughput for ~3% size
WARC_OPERATOR = ""  # who runs the crawl, for the warcinfo record
WARC_DEDUP = True  # identical payloads become revisit records
WARC_QUEUE_SIZE = 256  # records waiting for the writer thread before the crawl waits
WARC_FSYNC = "close"  # "record" (every record), "close" (each file) or "never"
# Secrets are not archived (newsarchive.capture.records.Redaction): these request headers'
# values are replaced by "[redacted]", named in a WARC-Newsarchive-Redacted header.
WARC_REDACT_HEADERS = ["Authorization", "Cookie", "Proxy-Authorization"]
WARC_REDACT_SET_COOKIE = False  # also redact response Set-Cookie values (kept: the site sent them)

# --- Fetch: credentials for a site (newsarchive.fetch.credentials) -------------------
# Values are templates, "Bearer ${ENV_VAR}": the secret comes from the environment when
# the crawl starts. Sent only to CREDENTIALS_HOSTS (and subdomains); always redacted.
# Before CookiesMiddleware (700), which files the site's cookies in its jar.
DOWNLOADER_MIDDLEWARES["newsarchive.fetch.credentials.CredentialsMiddleware"] = 650
CREDENTIALS_HEADERS: dict[str, str] = {}  # header name -> value template
CREDENTIALS_COOKIES: dict[str, str] = {}  # cookie name -> value template
CREDENTIALS_BASIC_AUTH: dict[str, str] = {}  # {"user": ..., "password": "${ENV_VAR}"}
CREDENTIALS_HOSTS: list[str] = []  # hosts the credentials go to; a site file sets its own

# --- Extract: sidecars (newsarchive.extract) -----------------------------------
ITEM_PIPELINES = {
    "newsarchive.extract.pipeline.SidecarPipeline": 300,
}
SIDECAR_ENABLED = True  # write a sidecar for every archived article page
# Bounds per page (newsarchive.extract.bounded): a page over them gets a sidecar with
# extractor.error and the crawl goes on. Extraction runs in a worker process that is
# killed at the time limit or once a page has grown it by the memory limit.
SIDECAR_TIME_LIMIT = 20.0  # seconds of extraction per page; 0: no limit
SIDECAR_MEMORY_LIMIT = 384 * 1024 * 1024  # bytes of memory per page beyond the worker's own; 0: no limit
SIDECAR_MAX_BYTES = 5_000_000  # the parsers see at most this much of a page (extractor.truncated)

# --- Fetch: stats (newsarchive.fetch.stats) ---------------------------------------
STATS_CLASS = "newsarchive.fetch.stats.CrawlStats"  # Scrapy's, without its per-read deprecation shim

# --- Fetch: progress line (newsarchive.fetch.progress) -----------------------------
EXTENSIONS = {
    "newsarchive.fetch.progress.ProgressExtension": 100,
    # Indexes each closed WARC on its own worker; the uploader waits for it
    # through the crawl's wiring, so the order here does not matter.
    "newsarchive.index.extension.IndexExtension": 400,
    "newsarchive.store.extension.UploadExtension": 500,  # off unless STORE_URI is s3://
    "newsarchive.fetch.limits.CloseSpiderBytes": 600,  # off unless CLOSESPIDER_BYTES > 0
}
# Scrapy's remote control extension (an HTTP server on localhost running Python code
# sent to it) is left out of EXTENSIONS_BASE by newsarchive.crawl.crawl_settings.
PROGRESS_ENABLED = False  # the CLI turns it on; a live line on stderr
PROGRESS_INTERVAL = 1.0  # seconds between updates
PROGRESS_LOG_INTERVAL = 5.0  # seconds between plain lines when stderr is not a terminal

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
# Unfinished multipart uploads under the collection older than this (seconds) are
# aborted at the start of an upload run (leftovers of killed runs); younger ones
# are left to whoever is uploading them, unless their key is already stored.
STORE_STALE_UPLOAD_AGE = 86400.0
SIDECAR_WORKERS = -1  # extraction processes beside the crawl; -1: one if there are 2+ cores

# --- Index: CDXJ indexes and the Parquet catalog (newsarchive.index) ----------------
INDEX_ENABLED = True  # write DIR/indexes/NAME.cdxj as each WARC file closes
INDEX_CATALOG = True  # and DIR/catalog/collection=NAME/date=D/part-NAME.parquet

# --- Fetch: pages that need JavaScript (newsarchive.fetch.render) -------------------
# The handler renders requests marked for the browser and passes all others to
# Scrapy's own HTTP handler; Chromium starts only when a page needs it.
DOWNLOAD_HANDLERS = {
    "http": "newsarchive.fetch.render.handler.RenderDownloadHandler",
    "https": "newsarchive.fetch.render.handler.RenderDownloadHandler",
}
SPIDER_MIDDLEWARES = {
    "newsarchive.fetch.render.middleware.RenderedItemMiddleware": 800,  # PageItem.rendered
    # Scrapy's link-length limit (URLLENGTH_LIMIT), each link dropped counted (fetch.traps)
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "newsarchive.fetch.traps.CountedUrlLengthMiddleware": 800,
}
RENDER_MODE = "auto"  # "never", "always" (every page), "auto" (pages whose HTML has no story)
RENDER_EXECUTABLE = "/usr/bin/chromium"  # Debian's Chromium; nothing downloads a browser
RENDER_MAX_PAGES = 2  # tabs rendering at once (one per core is plenty)
RENDER_MAX_CONTEXTS = 1  # browser contexts the tabs are spread over (<= RENDER_MAX_PAGES)
RENDER_TAB_PAGES = 20  # close a tab after this many pages (its renderer grows)
RENDER_CONTEXT_PAGES = 200  # replace a context (cookies, cache) after this many; 0 never
RENDER_BROWSER_PAGES = 2000  # relaunch Chromium after this many pages; 0 never
RENDER_TIMEOUT = 30.0  # seconds for one page, from navigation to DOM
RENDER_IDLE_MS = 150  # a page is settled once no request was open for this long
RENDER_BLOCK_HOSTS: list[str] = []  # ad/tracker hosts (and subdomains) the browser never asks
RENDER_SCREENSHOT = False  # also archive a full-page PNG of every rendered page
RENDER_CHROMIUM_ARGS: list[str] = []  # extra Chromium flags, e.g. --host-resolver-rules=...
RENDER_VIEWPORT = "1280x900"  # the browser window, WIDTHxHEIGHT
RENDER_JS_HEAP_MB = 384  # V8 heap limit per renderer (--max-old-space-size); a page past it crashes, recorded; 0 none
RENDER_TAB_MEMORY_MB = 640  # a renderer process over this RSS is killed, its page recorded as failed; 0 none

# --- Fetch: a crawl frontier shared by many workers (newsarchive.fetch.frontier) ----
# crawl --frontier redis://HOST:PORT/DB sets FRONTIER_URL, FRONTIER_SITE, FRONTIER_WORKER
# and makes newsarchive.fetch.frontier.FrontierScheduler (scrapy-redis) the SCHEDULER.
FRONTIER_URL = ""  # redis://HOST:PORT/DB; "" = this process's own frontier (Scrapy's)
FRONTIER_SITE = ""  # the site's name: its keys are newsarchive:SITE:*
FRONTIER_WORKER = ""  # this worker's name in the frontier (HOST-wN)
FRONTIER_LEASE = 60.0  # seconds a popped request stays leased unless renewed (a dead worker's come back after this)
FRONTIER_HOST_CONCURRENCY = 0  # requests in flight per host across all workers; 0 = CONCURRENT_REQUESTS_PER_DOMAIN
DOWNLOADER_MIDDLEWARES["newsarchive.fetch.frontier.FrontierAckMiddleware"] = 5
SPIDER_MIDDLEWARES["newsarchive.fetch.frontier.FrontierAckMiddleware"] = 5
DOWNLOADER_MIDDLEWARES["newsarchive.fetch.hostbudget.HostBudgetMiddleware"] = 990
