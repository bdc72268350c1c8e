"""Multipart checksum arithmetic, without any server."""

from __future__ import annotations

import base64
import zlib

import pytest

from newsarchive.exceptions import ConfigError
from newsarchive.store.digest import FileDigest
from newsarchive.store.s3checksum import (
    PartsDiffer,
    composite_of,
    decode_crc32,
    part_count,
    same_layout,
)
from newsarchive.store.s3client import check_endpoint_url


def _digest(data: bytes) -> FileDigest:
    import hashlib

    return FileDigest(size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                      crc32=zlib.crc32(data))


def test_composite_of_parts_is_s3s_crc32_of_the_part_crc32s() -> None:
    data = bytes(range(256)) * 41  # 10,496 bytes: 3 parts of 4,096, the last shorter
    parts = [data[i:i + 4096] for i in range(0, len(data), 4096)]
    crcs = [zlib.crc32(p) for p in parts]
    expected = base64.b64encode(
        zlib.crc32(b"".join(c.to_bytes(4, "big") for c in crcs)).to_bytes(4, "big")).decode()
    assert composite_of(crcs, _digest(data), 4096) == f"{expected}-3"
    assert part_count(len(data), 4096) == 3


def test_parts_that_do_not_add_up_to_the_recorded_crc32_are_refused() -> None:
    data = b"x" * 9000
    crcs = [zlib.crc32(data[:4096]), zlib.crc32(data[4096:8192]), zlib.crc32(b"y" * 808)]
    with pytest.raises(PartsDiffer, match="do not add up"):
        composite_of(crcs, _digest(data), 4096)
    with pytest.raises(PartsDiffer, match="2 parts sent, 3 expected"):
        composite_of(crcs[:2], _digest(data), 4096)


def test_layout_and_part_checksum_decoding() -> None:
    assert same_layout("AAAAAA==-3", "BBBBBB==-3")
    assert not same_layout("AAAAAA==-2", "BBBBBB==-3")
    assert not same_layout("a" * 44 + "-3", "BBBBBB==-3")  # a SHA-256 composite
    assert decode_crc32(base64.b64encode((123456789).to_bytes(4, "big")).decode()) == 123456789


@pytest.mark.parametrize("bad", ["not a url", "ftp://host", "http://", "http://h:99999"])
def test_endpoint_urls_are_checked(bad: str) -> None:
    with pytest.raises(ConfigError, match="not an http"):
        check_endpoint_url(bad)
    assert check_endpoint_url("http://127.0.0.1:9000") == "http://127.0.0.1:9000"
