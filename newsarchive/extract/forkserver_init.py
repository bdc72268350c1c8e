"""Imported by the extraction pool's fork server on start, and only there.

Importing it ties the fork server to the crawl (see
:mod:`newsarchive.extract.workers`); the extractor is imported too, so every
worker forked from the server starts with it loaded.
"""

from newsarchive.extract.workers import die_with_parent, ignore_stop_signals

ignore_stop_signals()
die_with_parent()

import newsarchive.extract  # noqa: E402,F401  (warm: workers fork with it loaded)
