"""What the spool records about a closed file before it is uploaded: size, SHA-256, CRC32.

Both digests are of the whole file and independent of how it is uploaded (part
size, single PUT or multipart), so whoever writes the file can compute them as
it writes (:class:`RunningDigest`; the WARC writer does, and hands them over
with ``file_closed``), and a file that arrives without them is read once
(:func:`hash_file`, one pass for both; with the CRC32 of each part of its
upload as well, so the upload computes none).

* **SHA-256** is the file's identity: readers compare against it, it goes
  into the object's metadata (``x-amz-meta-sha256``), and a single PUT sends
  it as ``ChecksumSHA256`` so S3 itself checks the body against it.
* **CRC32** is what ties a *multipart* upload to the recorded bytes at no
  extra cost: each part carries the CRC32 botocore computes as it sends it,
  and CRC32s combine (:func:`crc32_combine`), so the parts' CRC32s must add up
  to the recorded whole-file one -- whatever the part size.
  See :mod:`newsarchive.store.s3` for how the two end up detecting a damaged
  upload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from dataclasses import dataclass, field
from pathlib import Path

CHUNK = 1 << 20
MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum part size (except the last part)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass(frozen=True)
class PartCrcs:
    """The CRC32 of each ``part_size`` slice of a file (the last one shorter)."""

    part_size: int
    crc32s: tuple[int, ...]


@dataclass(frozen=True)
class FileDigest:
    """Size and whole-file digests of one local file."""

    size: int
    sha256: str  # hex
    crc32: int | None = None  # None: not recorded (journal rows of older versions)
    #: the CRC32 of each part of its upload, when the read that took the digest
    #: knew the part size; kept in memory only (the journal records the whole file).
    parts: PartCrcs | None = field(default=None, compare=False)

    @property
    def sha256_b64(self) -> str:
        """The SHA-256 as S3 spells ``ChecksumSHA256``."""
        return _b64(bytes.fromhex(self.sha256))

    @property
    def crc32_b64(self) -> str | None:
        """The CRC32 as S3 spells ``ChecksumCRC32`` (big-endian, base64)."""
        return None if self.crc32 is None else _b64(self.crc32.to_bytes(4, "big"))

    def matches_checksum(self, checksum: str) -> bool | None:
        """Whether an S3 whole-object checksum describes these bytes.

        ``checksum`` is a ``ChecksumSHA256`` or a full-object ``ChecksumCRC32``
        value (told apart by their length). ``None`` when it cannot tell: a
        composite checksum (``...-N``, a digest of part digests), a CRC32 we
        did not record, or something unreadable.
        """
        if "-" in checksum:
            return None
        try:
            raw = base64.b64decode(checksum, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(raw) == 32:
            return raw.hex() == self.sha256
        if len(raw) == 4 and self.crc32 is not None:
            return int.from_bytes(raw, "big") == self.crc32
        return None


class RunningDigest:
    """SHA-256 and CRC32 of bytes as they are written, for :class:`FileDigest`.

    hashlib releases the GIL on large updates; zlib.crc32 runs at several GB/s:
    a writer that feeds every byte it writes here pays about 1 ms per MB.

    With ``part_size``, the CRC32 is taken per part instead (the whole file's
    is combined from them at the end, :func:`crc32_combine`): the parts of a
    multipart upload then go up with these CRC32s and botocore computes none
    of its own, so a file read for its digest is not checksummed twice.
    """

    def __init__(self, part_size: int | None = None) -> None:
        self._sha = hashlib.sha256()
        self._crc = 0
        self.size = 0
        self._part_size = part_size
        self._parts: list[int] = []
        self._in_part = 0

    def update(self, data: bytes | memoryview) -> None:
        """Add the next bytes of the file."""
        self._sha.update(data)
        self.size += len(data)
        if self._part_size is None:
            self._crc = zlib.crc32(data, self._crc)
            return
        view = memoryview(data)
        while view:
            take = min(len(view), self._part_size - self._in_part)
            self._crc = zlib.crc32(view[:take], self._crc)
            self._in_part += take
            view = view[take:]
            if self._in_part == self._part_size:
                self._parts.append(self._crc)
                self._crc, self._in_part = 0, 0

    def result(self) -> FileDigest:
        """The digest of everything added so far."""
        sha256 = self._sha.hexdigest()
        if self._part_size is None:
            return FileDigest(size=self.size, sha256=sha256, crc32=self._crc)
        crcs = self._parts + [self._crc] if self._in_part or not self._parts else self._parts
        whole = crcs[0]
        for number, crc in enumerate(crcs[1:], start=1):
            whole = crc32_combine(whole, crc, min(self._part_size,
                                                  self.size - number * self._part_size))
        return FileDigest(size=self.size, sha256=sha256, crc32=whole,
                          parts=PartCrcs(self._part_size, tuple(crcs)))


_CRC32_POLY = 0xEDB88320  # zlib's CRC-32, bit-reflected


def _multmodp(a: int, b: int) -> int:
    """a * b modulo the CRC-32 polynomial (reflected bit order, as zlib's crc32.c)."""
    m = 1 << 31
    p = 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ _CRC32_POLY if b & 1 else b >> 1


def _x2n_table() -> list[int]:
    table = [1 << 30]  # x^1
    for _ in range(31):
        table.append(_multmodp(table[-1], table[-1]))
    return table


_X2N = _x2n_table()  # x^(2^k) modulo the polynomial


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC32 of ``A + B`` from ``crc32(A)``, ``crc32(B)`` and ``len(B)`` (zlib's algorithm).

    A few hundred integer operations: cheap enough to check every part of an
    upload against the recorded whole-file CRC32 without reading a byte again.
    """
    shift = 1 << 31  # x^0
    n, k = len2, 3  # x^(8 * len2)
    while n:
        if n & 1:
            shift = _multmodp(_X2N[k & 31], shift)
        n >>= 1
        k += 1
    return _multmodp(shift, crc1) ^ crc2


def hash_file(path: Path, part_size: int | None = None) -> FileDigest:
    """Read ``path`` once and digest it (for files that arrive without a digest).

    With ``part_size``, the digest also holds the CRC32 of each part of an
    upload in parts of that size (:class:`RunningDigest`).
    """
    running = RunningDigest(part_size)
    with Path(path).open("rb") as fh:
        while block := fh.read(CHUNK):
            running.update(block)
    return running.result()
