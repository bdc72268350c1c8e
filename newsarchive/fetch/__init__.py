"""Fetch: running Scrapy (and the browser) over a site, with progress."""
