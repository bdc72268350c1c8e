"""The small interface every store backend offers, and what it returns.

A store is a place addressed by *keys* (``warc/2026/05/01/FILE.warc.gz``)
relative to its root: a local folder or an ``s3://bucket/prefix``. Backends
are picked by URI scheme in :func:`newsarchive.store.store_for`, the way
Scrapy's ``FEED_STORAGES`` picks feed storages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal, Protocol, runtime_checkable

from newsarchive.store.digest import FileDigest

PutOutcome = Literal["uploaded", "exists"]


@dataclass(frozen=True)
class ObjectInfo:
    """What a store knows about one stored object without reading it."""

    key: str
    size: int
    #: hex SHA-256 of the whole object when the store knows it (our metadata).
    sha256: str | None = None
    #: the store's own checksum of what it stored (S3 ``ChecksumCRC32`` if it has
    #: one, else ``ChecksumSHA256``; a composite one ends in ``-N``).
    checksum: str | None = None
    etag: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Store(Protocol):
    """Put, list and read files under keys; never overwrite a different object."""

    #: the store's root as the user wrote it (``s3://bucket/prefix`` or a folder).
    uri: str

    def uri_for(self, key: str) -> str:
        """The full URI (or path) of ``key``, for messages and for readers."""
        ...

    def check(self) -> None:
        """Raise :class:`~newsarchive.exceptions.StorageError` if the store is unusable."""
        ...

    def put(
        self,
        path: Path,
        key: str,
        digest: FileDigest | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> PutOutcome:
        """Store the local file ``path`` under ``key`` and verify it.

        ``digest`` is the file's recorded digest (computed if not given);
        ``progress`` is called with each number of bytes sent. Idempotent: if the same bytes are already there, return ``"exists"``. If a
        different object holds ``key``, raise StorageError and leave it alone.
        """
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix``, in lexical order."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A streaming binary reader of the object (never read whole into memory)."""
        ...

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (one ranged GET on S3)."""
        ...

    def head(self, key: str) -> ObjectInfo | None:
        """Size and checksums of ``key``; ``None`` if there is no such object."""
        ...

    def sweep_stale_uploads(self, max_age: float = 86400.0) -> int:
        """Abort unfinished uploads a killed run left behind; return how many."""
        ...
