"""Report: what a crawl did and what a collection holds.

``build`` writes the HTML crawl report (``newsarchive report``, and at the end
of every crawl into ``DIR/reports/``); ``status`` answers ``newsarchive
status``; ``history`` keeps each run's summary so reports can be rebuilt;
``crawllog`` reads ``logs/crawl.log``.
"""
