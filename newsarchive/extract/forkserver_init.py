"""Imported by the ``extract --jobs`` fork server on start, and only there.

Importing it ties the fork server to the command (see
:mod:`newsarchive.extract.workers`); the extractor is imported too, so every
worker forked from the server starts with it loaded.
"""

import os

from newsarchive.extract.workers import PARENT_ENV
from newsarchive.lifetime import die_with_parent

# The command's pid, not whatever parent is left: a command killed while this
# server was still importing must not leave it running (reparented to init).
die_with_parent(int(os.environ.get(PARENT_ENV) or 0) or None)

import newsarchive.extract  # noqa: E402,F401  (warm: workers fork with it loaded)
