"""Capture: turning fetches into WARC/1.1 records.

``exchange``  what one HTTP fetch was, as sent and received (no Scrapy types)
``records``   building request/response/revisit/warcinfo/metadata records (warcio)
``naming``    IIPC-style file names
``writer``    one rotating WARC file set on disk: ``.open`` files, gzip members
``dedup``     the collection's payload-digest index (revisit records)
``service``   the writer thread the crawl hands exchanges to
``recovery``  closing ``.open`` files left by a crash
``check``     validating WARC files (gzip members, structure, digests)
``middleware`` the Scrapy downloader middleware that feeds the service
"""
