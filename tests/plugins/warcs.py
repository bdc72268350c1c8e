"""Reading WARC records in tests: every digest checked, a wrong one fails the test.

warcio's ``check_digests=True`` only notes a wrong digest on the record; the
tests read through :func:`read_records`, which raises on one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator


def read_records(stream: IO[bytes], **kwargs: Any) -> Iterator[Any]:
    """The records of a WARC stream; a record whose block or payload digest is wrong raises."""
    return iter(ArchiveIterator(stream, check_digests="raise", **kwargs))
