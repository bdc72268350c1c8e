"""The part checks of a multipart upload: botocore event hooks and a local recount.

While a file goes up in parts, :class:`PartChecks` hands each ``UploadPart``
the CRC32 the file's digest recorded for that part (so botocore computes none
and S3 checks the part against the bytes that were digested), and before
``CompleteMultipartUpload`` checks that the parts sent add up to the recorded
CRC32, remembering the composite checksum S3 must then report.
:func:`local_composite` tells that composite for an object already stored,
from the local file, without downloading the object.
"""

from __future__ import annotations

import base64
import logging
import zlib
from pathlib import Path
from typing import Any

from newsarchive.store.digest import CHUNK, FileDigest
from newsarchive.store.s3checksum import PartsDiffer, composite_of, decode_crc32, part_count

logger = logging.getLogger(__name__)


class PartChecks:
    """The digests of the uploads under way, by full key, and the hooks that use them."""

    def __init__(self) -> None:
        self._inflight: dict[str, tuple[FileDigest, int]] = {}  # full key -> digest, part size
        self._composites: dict[str, str] = {}  # full key -> expected composite checksum

    def register(self, events: Any) -> None:
        """Hook into a boto3 client's event system (``client.meta.events``)."""
        events.register("before-parameter-build.s3.CompleteMultipartUpload", self.check_parts)
        events.register("before-parameter-build.s3.UploadPart", self.part_checksum)

    def begin(self, full: str, digest: FileDigest, part_size: int) -> None:
        """An upload of ``full`` in parts of ``part_size`` starts."""
        self._inflight[full] = (digest, part_size)
        self._composites.pop(full, None)

    def end(self, full: str) -> None:
        """The upload of ``full`` is over (its composite, if checked, stays for :meth:`pop`)."""
        self._inflight.pop(full, None)

    def pop(self, full: str) -> str | None:
        """The composite checksum S3 must report for ``full``, if its parts were checked."""
        return self._composites.pop(full, None)

    def part_checksum(self, params: dict[str, Any], **_kwargs: Any) -> None:
        """Send a part with the CRC32 the file's digest recorded for it, if it has one.

        botocore then computes none (a pass over every byte it sends), and S3
        checks the part against the bytes that were digested, not against
        what was read for sending: a file changed since is refused part by
        part (``BadDigest``); a server that checks no part checksum (moto)
        assembles it, and the composite checksum after the completion tells.
        """
        inflight = self._inflight.get(params.get("Key", ""))
        if inflight is None or "ChecksumCRC32" in params:
            return
        digest, part_size = inflight
        parts = digest.parts
        if parts is None or parts.part_size != part_size or (
                len(parts.crc32s) != part_count(digest.size, part_size)):
            return  # another part size: botocore computes them, as for any file
        number = int(params.get("PartNumber", 0))
        if 1 <= number <= len(parts.crc32s):
            params["ChecksumCRC32"] = base64.b64encode(
                parts.crc32s[number - 1].to_bytes(4, "big")).decode()

    def check_parts(self, params: dict[str, Any], **_kwargs: Any) -> None:
        """Before S3 assembles the parts: their CRC32s must add up to the recorded one.

        Raises :class:`PartsDiffer` (the upload is then aborted); remembers
        the composite checksum S3 must report for the object.
        """
        full = params.get("Key", "")
        inflight = self._inflight.get(full)
        if inflight is None:
            return
        digest, part_size = inflight
        parts = sorted(params.get("MultipartUpload", {}).get("Parts", []),
                       key=lambda p: int(p["PartNumber"]))
        try:
            crcs = [decode_crc32(p["ChecksumCRC32"]) for p in parts]
        except (KeyError, ValueError):
            logger.info("the server sent no part CRC32s for %s; it will be read back", full)
            return
        self._composites[full] = composite_of(crcs, digest, part_size)


def local_composite(path: Path, digest: FileDigest, checksum: str | None, size: int,
                    part_size: int) -> str | None:
    """The composite CRC32 the local file would have as a stored object's parts, if cheap.

    For an object already under the key (a run killed after the upload,
    before its verification): reading the local file at several GB/s of
    CRC32 beats downloading the object. Only when the object's ``checksum``
    is a CRC32 composite over as many parts of ``part_size`` as the file has,
    and the file still has the recorded CRC32. Raises ``OSError`` if the
    file cannot be read.
    """
    value, _, count = (checksum or "").partition("-")
    if len(value) != 8 or not count or size != digest.size:  # not a CRC32 composite
        return None
    if count != str(part_count(digest.size, part_size)):
        return None
    crcs: list[int] = []
    with path.open("rb") as fh:
        while True:
            crc, left = 0, part_size
            while left and (block := fh.read(min(CHUNK, left))):
                crc = zlib.crc32(block, crc)
                left -= len(block)
            if left == part_size:
                break
            crcs.append(crc)
    try:
        return composite_of(crcs, digest, part_size)
    except PartsDiffer:
        return None  # the local file changed: the upload will say so
