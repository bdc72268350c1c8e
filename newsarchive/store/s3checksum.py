"""Checksum arithmetic of multipart uploads: pure functions, no I/O, no server.

S3 reports a multipart object's CRC32 as a *composite*: the CRC32 of the
concatenated big-endian part CRC32s, followed by ``-N`` (the part count).
Because CRC32s combine (:func:`~newsarchive.store.digest.crc32_combine`), the
part CRC32s must also add up to the whole file's CRC32 recorded when the file
was closed; :func:`composite_of` checks that and gives the composite S3 must
report for the object (see ``docs/storage.md``).
"""

from __future__ import annotations

import base64
import zlib

from newsarchive.store.digest import FileDigest, crc32_combine


class PartsDiffer(Exception):
    """The parts of a multipart upload are not the bytes whose digest was recorded."""


def part_count(size: int, part_size: int) -> int:
    """Parts of a multipart upload of ``size`` bytes (the last one shorter)."""
    return -(-size // part_size)


def composite_of(crcs: list[int], digest: FileDigest, part_size: int) -> str:
    """S3's composite checksum of parts with these CRC32s, if they add up to ``digest``.

    Raises :class:`PartsDiffer` when the count of parts is wrong or their
    CRC32s do not combine to ``digest.crc32``.
    """
    expected = part_count(digest.size, part_size)
    if len(crcs) != expected:
        raise PartsDiffer(f"{len(crcs)} parts sent, {expected} expected")
    combined = crcs[0] if crcs else 0
    for number, crc in enumerate(crcs[1:], start=1):
        combined = crc32_combine(combined, crc, min(part_size, digest.size - number * part_size))
    if combined != digest.crc32:
        raise PartsDiffer(
            "the parts sent do not add up to the CRC32 recorded when the file was closed "
            "(did the local file change since?)"
        )
    raw = b"".join(crc.to_bytes(4, "big") for crc in crcs)
    return base64.b64encode(zlib.crc32(raw).to_bytes(4, "big")).decode() + f"-{len(crcs)}"


def same_layout(checksum: str, composite: str) -> bool:
    """Whether S3's ``checksum`` is a composite CRC32 over as many parts as ``composite``."""
    value, _, count = checksum.partition("-")
    return len(value) == 8 and count == composite.partition("-")[2]


def decode_crc32(value: str) -> int:
    """A part's ``ChecksumCRC32`` (base64 of 4 big-endian bytes) as an integer."""
    return int.from_bytes(base64.b64decode(value, validate=True), "big")
