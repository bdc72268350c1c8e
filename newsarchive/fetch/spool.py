"""A response body on its way to the WARC: in memory while small, on disk past that.

The download handler writes the body into a :class:`Spool` as it arrives;
the writer thread streams a spilled spool into its record (see
:meth:`~newsarchive.capture.writer.WarcFileSet.write_streamed`), so a body of
hundreds of megabytes never sits in memory whole, nor in the several copies
that building a record from bytes makes (payload, serialised record, gzip
member). Its SHA-1 -- the payload digest -- is taken as it arrives.

The file is an unlinked temporary file in the collection's ``tmp/`` folder
(not ``/tmp``, often a RAM-backed tmpfs): nothing is left behind if the
crawl is killed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tempfile
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20  # bytes per read when streaming a spilled body


class Spool:
    """Bytes written in order; in memory up to ``memory_limit``, then in a temporary file."""

    def __init__(self, memory_limit: int, directory: str | Path | None = None) -> None:
        self.memory_limit = memory_limit
        self.directory = directory
        self.size = 0
        self._buf = bytearray()
        self._file: BinaryIO | None = None
        self._sha1: hashlib._Hash | None = None

    @property
    def spilled(self) -> bool:
        """True once the body went to disk."""
        return self._file is not None

    def write(self, data: bytes) -> None:
        """Append ``data``."""
        self.size += len(data)
        if self._file is None:
            self._buf += data
            if len(self._buf) > self.memory_limit:
                self._spill()
            return
        assert self._sha1 is not None
        self._sha1.update(data)
        self._file.write(data)

    def _spill(self) -> None:
        directory = None
        if self.directory is not None:
            Path(self.directory).mkdir(parents=True, exist_ok=True)
            directory = str(self.directory)
        self._file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 (closed by close())
        self._sha1 = hashlib.sha1(self._buf)
        self._file.write(self._buf)
        self._buf = bytearray()

    def getvalue(self) -> bytes:
        """The whole body (only for a spool that did not spill)."""
        if self._file is not None:
            raise ValueError("a spilled spool is streamed, not read whole")
        return bytes(self._buf)

    def head(self, limit: int) -> bytes:
        """The first ``limit`` bytes."""
        if self._file is None:
            return bytes(self._buf[:limit])
        self._file.flush()
        self._file.seek(0)
        data = self._file.read(limit)
        self._file.seek(0, io.SEEK_END)
        return data

    def payload_digest(self) -> str:
        """``sha1:BASE32`` of the body, as WARC-Payload-Digest wants it."""
        sha1 = self._sha1 if self._sha1 is not None else hashlib.sha1(self._buf)
        return "sha1:" + base64.b32encode(sha1.digest()).decode("ascii")

    def reader(self) -> BinaryIO:
        """The body from its start, as a seekable file (shared: one reader at a time)."""
        if self._file is None:
            return io.BytesIO(bytes(self._buf))
        self._file.flush()
        self._file.seek(0)
        return self._file

    def close(self) -> None:
        """Free the memory or the file (the file is already unlinked)."""
        if self._file is not None:
            self._file.close()
        self._buf = bytearray()
