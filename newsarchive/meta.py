"""The ``request.meta`` keys (and response flags) newsarchive's components share.

One place for every key, so the spider, the middlewares and the download
handlers cannot drift apart on a spelling. Who sets each key and who reads it:
"""

from __future__ import annotations

# --- set by the spider (spiders/news.py) ----------------------------------------
#: what a request is for: robots, sitemap, feed, front, article, page or embed
#: (newsarchive.discover.revisit picks the revisit rule by it)
KIND = "na_kind"
#: links followed from a start page to reach a page; only page requests carry it,
#: so the render middleware never renders robots.txt, sitemaps, feeds or embeds
HOPS = "na_hops"
#: ``<lastmod>`` of a sitemap entry / a feed item's date (the revisit rules read them)
LASTMOD = "na_lastmod"
PUBLISHED = "na_published"

# --- set by the incremental middlewares (newsarchive.discover.incremental) -------------
#: the URL's identity in the crawl state (its canonical form, aliases resolved)
STATE_KEY = "na_state_key"
#: on a response: True if the collection did not hold the URL before
NEW = "na_new"
#: a conditional re-check: the payload digest of the capture it re-checks (a 304 to it
#: is archived as a server-not-modified revisit of that capture)
NOT_MODIFIED = "na_not_modified"

# --- fetch (newsarchive.fetch.body, newsarchive.fetch.render) ---------------------------
#: the Spool of a body too large for memory, streamed into its record
BODY_SPOOL = "na_body_spool"
#: bytes of the body received (response.body may hold fewer)
BODY_SIZE = "na_body_size"
#: response flag: response.body holds only the first FETCH_PARSE_MAXSIZE bytes
BODY_CUT_FLAG = "na_body_cut"
#: True renders the request in the browser, False never does
RENDER = "na_render"
#: on a rendered response: the URLs the browser loaded for the page (archived with it;
#: the spider does not fetch them again as embeds)
BROWSER_LOADED = "na_browser_loaded"

# --- capture (newsarchive.capture.middleware) ---------------------------------------
#: do not archive this response (the browser archived what it received itself)
WARC_SKIP = "warc_skip"
#: set by whoever archived the response: the record's Ticket (record id, location)
WARC_TICKET = "warc_ticket"
#: a string the WARC writer hands to its on_written once the records are on disk
#: (a frontier's request fingerprint: newsarchive.fetch.frontier)
WARC_MARK = "warc_mark"
