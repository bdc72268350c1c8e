"""The WARC payload digest, which the crawl state and the WARC records agree on.

Shared by the capture stage (``WARC-Payload-Digest``) and the incremental
crawl (:mod:`newsarchive.discover.incremental` records a page's digest to tell a
changed page from an unchanged one), so neither spells it on its own.
"""

from __future__ import annotations

import base64
import hashlib


def sha1_digest(data: bytes) -> str:
    """``sha1:BASE32`` as WARC-*-Digest fields and CDXJ indexes expect it."""
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")
