"""Imported by the extraction pool's fork server on start, and only there.

Importing it ties the fork server to the crawl (see
:mod:`newsarchive.extract.workers`); the extractor is imported too, so every
worker forked from the server starts with it loaded.
"""

import os

from newsarchive.extract.workers import PARENT_ENV, die_with_parent, ignore_stop_signals

ignore_stop_signals()
# The crawl's pid, not whatever parent is left: a crawl killed while this server
# was still importing must not leave it running (reparented to init).
die_with_parent(int(os.environ.get(PARENT_ENV) or 0) or None)

import newsarchive.extract  # noqa: E402,F401  (warm: workers fork with it loaded)
