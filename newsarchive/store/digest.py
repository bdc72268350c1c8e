"""SHA-256 of a file, whole and per upload part, computed in one streaming pass.

The whole-file digest is what the spool records before an upload and what
readers compare against. The per-part digests let us check S3's *composite*
``ChecksumSHA256`` of a multipart object (SHA-256 of the concatenated part
digests) without downloading it again: S3 computes it from the bytes it
actually stored.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum part size (except the last part)
MAX_PARTS = 10_000


def part_size_for(size: int, part_size: int) -> int:
    """The part size s3transfer really uses for a file of ``size`` bytes.

    Same rule as ``s3transfer.utils.ChunksizeAdjuster``: double until the file
    fits in 10,000 parts, never below 5 MiB.
    """
    chosen = max(part_size, MIN_PART_SIZE)
    while -(-size // chosen) > MAX_PARTS:
        chosen *= 2
    return chosen


@dataclass(frozen=True)
class FileDigest:
    """Size and SHA-256 digests of one local file."""

    size: int
    sha256: str  # hex, whole file
    part_size: int  # 0 when the file is small enough for a single PUT
    parts: tuple[bytes, ...] = ()  # raw SHA-256 of each part

    @property
    def sha256_b64(self) -> str:
        """The whole-file digest as S3 spells ``ChecksumSHA256`` of a single PUT."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()

    @property
    def composite_b64(self) -> str | None:
        """S3's composite checksum of the multipart object (without ``-N``)."""
        if not self.part_size:
            return None
        return base64.b64encode(hashlib.sha256(b"".join(self.parts)).digest()).decode()

    def fits(self, part_size: int) -> bool:
        """Whether the part digests match an upload with this configured part size."""
        if self.size < part_size:
            return self.part_size == 0
        return self.part_size == part_size_for(self.size, part_size)

    def matches_checksum(self, checksum: str) -> bool:
        """Whether an S3 ``ChecksumSHA256`` value describes these bytes."""
        value, _, count = checksum.partition("-")
        if count and self.part_size and int(count) != len(self.parts):
            return False
        return value in {self.sha256_b64, self.composite_b64}


def hash_file(path: Path, part_size: int = 0) -> FileDigest:
    """Digest ``path`` in one pass; per-part digests if ``size >= part_size > 0``.

    ``part_size`` is the configured one; the effective size follows
    :func:`part_size_for`, as the upload itself will.
    """
    size = path.stat().st_size
    effective = part_size_for(size, part_size) if part_size and size >= part_size else 0
    whole = hashlib.sha256()
    parts: list[bytes] = []
    part = hashlib.sha256()
    in_part = 0
    with path.open("rb") as fh:
        while True:
            want = CHUNK if not effective else min(CHUNK, effective - in_part)
            block = fh.read(want)
            if not block:
                break
            whole.update(block)
            if effective:
                part.update(block)
                in_part += len(block)
                if in_part == effective:
                    parts.append(part.digest())
                    part, in_part = hashlib.sha256(), 0
    if effective and in_part:
        parts.append(part.digest())
    return FileDigest(size=size, sha256=whole.hexdigest(), part_size=effective, parts=tuple(parts))
