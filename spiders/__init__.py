"""newsarchive's Scrapy spiders (``SPIDER_MODULES``)."""
