"""Opening a WARC file -- local or in an object store -- at a byte offset.

The readers of the capture stage (:mod:`newsarchive.capture.reading`) take an
opener, so they read from wherever the later stages found the file without
importing the store themselves.
"""

from __future__ import annotations

from typing import BinaryIO

from newsarchive.capture.reading import Opener, skip
from newsarchive.store import is_remote, open_input


def opener_for(source: str, *, endpoint_url: str | None = None,
               region: str | None = None) -> Opener:
    """A function opening ``source`` (path or ``s3://`` URI) at a byte offset."""

    def open_at(offset: int) -> BinaryIO:
        fh = open_input(source, endpoint_url=endpoint_url, region=region)
        if offset:
            if not is_remote(source) and fh.seekable():
                fh.seek(offset)
            else:
                skip(fh, offset)
        return fh

    return open_at
